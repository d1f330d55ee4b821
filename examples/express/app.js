'use strict';
// Express with spanprof's middleware: route templates as endpoints, a tenant label per request.
//   node --require @spanprof/auto/register app.js
const express = require('express');
const { spanprof } = require('@spanprof/express');
const { renderUser, priceOrder, io } = require('../shared/work');

const app = express();
app.use(spanprof({ labels: (req) => ({ tenant: req.get('x-tenant') }), pprof: true }));

const users = express.Router();
users.get('/:id', async (req, res) => {
  await io();
  res.json({ size: renderUser(req.params.id) });
});
app.use('/users', users);
app.get('/orders/:orderId/items', async (req, res) => {
  await io();
  res.json({ total: priceOrder(req.params.orderId) });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
