'use strict';
// Koa with spanprof's middleware: @koa/router templates as endpoints, a tenant label per request.
//   node --require @spanprof/auto/register app.js
const Koa = require('koa');
const Router = require('@koa/router');
const { spanprof } = require('@spanprof/koa');
const { renderUser, priceOrder, io } = require('../shared/work');

const app = new Koa();
app.use(spanprof({ labels: (ctx) => ({ tenant: ctx.get('x-tenant') || undefined }), pprof: true }));

const users = new Router({ prefix: '/users' });
users.get('/:id', async (ctx) => {
  await io();
  ctx.body = { size: renderUser(ctx.params.id) };
});
const router = new Router();
router.get('/orders/:orderId/items', async (ctx) => {
  await io();
  ctx.body = { total: priceOrder(ctx.params.orderId) };
});
app.use(users.routes()).use(router.routes());

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
