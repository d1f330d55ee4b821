'use strict';
// A plain node:http service with no telemetry code at all. Start it with the bundle:
//   node --require @spanprof/auto/register app.js
const http = require('node:http');
const { renderUser, priceOrder, io } = require('../shared/work');

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const user = url.pathname.match(/^\/users\/([^/]+)$/);
  const order = url.pathname.match(/^\/orders\/([^/]+)\/items$/);
  await io();
  if (user) res.end(JSON.stringify({ size: renderUser(user[1]) }));
  else if (order) res.end(JSON.stringify({ total: priceOrder(order[1]) }));
  else res.writeHead(404).end();
});
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
