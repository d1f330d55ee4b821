'use strict';
// The service's request handler, shared by app.js (CommonJS) and app.mjs (ES module).
const { renderUser, priceOrder, io } = require('../shared/work');

module.exports = async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const user = url.pathname.match(/^\/users\/([^/]+)$/);
  const order = url.pathname.match(/^\/orders\/([^/]+)\/items$/);
  await io();
  if (user) res.end(JSON.stringify({ size: renderUser(user[1]) }));
  else if (order) res.end(JSON.stringify({ total: priceOrder(order[1]) }));
  else res.writeHead(404).end();
};
