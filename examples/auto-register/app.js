'use strict';
// A plain node:http service with no telemetry code at all. Start it with the bundle:
//   node --require @spanprof/auto/register app.js
const http = require('node:http');
const handle = require('./handler');

const server = http.createServer(handle);
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
