// The same service as an ES module (node:http imported, which the ES module hook instruments):
//   node --import @spanprof/auto/register app.mjs
import http from 'node:http';
import handle from './handler.js';

const server = http.createServer(handle);
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
