'use strict';
// An Express service. Nothing here knows about profiling: telemetry.js does it all.
const express = require('express');
const { renderUser, priceOrder, io } = require('../shared/work');

const app = express();
app.get('/users/:id', async (req, res) => {
  await io();
  res.json({ size: renderUser(req.params.id) });
});
app.get('/orders/:orderId/items', async (req, res) => {
  await io();
  res.json({ total: priceOrder(req.params.orderId) });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
