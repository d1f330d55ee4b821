'use strict';
// Fastify with spanprof's plugin: route templates as endpoints, a tenant label per request.
//   node --require @spanprof/auto/register app.js
const Fastify = require('fastify');
const { spanprof } = require('@spanprof/fastify');
const { renderUser, priceOrder, io } = require('../shared/work');

const fastify = Fastify();
fastify.register(spanprof, { labels: (request) => ({ tenant: request.headers['x-tenant'] }), pprof: true });

fastify.register(
  async (users) => {
    users.get('/:id', async (request) => {
      await io();
      return { size: renderUser(request.params.id) };
    });
  },
  { prefix: '/users' },
);
fastify.get('/orders/:orderId/items', async (request) => {
  await io();
  return { total: priceOrder(request.params.orderId) };
});

fastify.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' }).then(() => {
  console.log(`listening on http://127.0.0.1:${fastify.server.address().port}`);
});
