// A TypeScript node:http service with no telemetry code. Build it, then start it with the bundle:
//   npm run build && node --require @spanprof/auto/register dist/server.js
import * as http from 'node:http';
import { priceCart } from './pricing';
import type { LineItem } from './pricing';

const items: LineItem[] = Array.from({ length: 50 }, (_, i) => ({ sku: `sku-${i}`, quantity: 1 + (i % 3), unitCents: 100 + i }));

const server = http.createServer((req, res) => {
  const quote = priceCart(items, 4000);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ path: req.url, ...quote }));
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : ''}`);
});
