'use strict';
// The "shop" service of the versions example, as one release of it runs:
//   APP_VERSION=1.4.0 OTEL_RESOURCE_ATTRIBUTES=service.version=1.4.0 \
//     node --require @spanprof/auto/register server.js
// Only the release's pricing module differs between versions.
const path = require('node:path');
const express = require('express');
const { spanprof } = require('@spanprof/express');

const release = process.env.APP_VERSION ?? '1.4.0';
const { applyDiscounts, listCatalog } = require(path.join(__dirname, 'releases', release, 'pricing.js'));

const app = express();
app.use(spanprof());
app.get('/quote/:sku', (req, res) => {
  res.json({ sku: req.params.sku, price: applyDiscounts(req.params.sku) });
});
app.get('/catalog', (req, res) => {
  res.json({ items: listCatalog() });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`shop ${release} listening on http://127.0.0.1:${server.address().port}`);
});
