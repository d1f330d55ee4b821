// The same service as an ES module:
//   node --import @spanprof/auto/register app.mjs
import http from 'node:http';
import { createRequire } from 'node:module';

const { renderUser, priceOrder, io } = createRequire(import.meta.url)('../shared/work.js');

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
