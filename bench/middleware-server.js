'use strict';
// Server for bench/middleware-cost.js: tracing (HTTP instrumentation) and a
// ProfilingSpanProcessor at its defaults, and three instances of the same
// FRAMEWORK app on three ports: without spanprof's middleware, with it
// (endpoint labels), and with it plus a custom labels callback. A control port
// answers the process's CPU time. Prints {"ports":{...},"control":N}.
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
const { FileExporter } = require('@spanprof/core');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-bench-mw-'));
const provider = new NodeTracerProvider({ spanProcessors: [new ProfilingSpanProcessor({ exporter: new FileExporter({ directory: dir }) })] });
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });

const framework = process.env.FRAMEWORK ?? 'express';
const VARIANTS = {
  without: undefined,
  endpoint: {},
  labels: { labels: (req) => ({ tenant: framework === 'koa' ? req.get('x-tenant') : req.headers['x-tenant'] }) },
};
const body = (id) => JSON.stringify({ id, name: `user-${id}` });

async function listen(variant) {
  const options = VARIANTS[variant];
  if (framework === 'express') {
    const express = require('express');
    const app = express();
    if (options) app.use(require('@spanprof/express').spanprof(options));
    app.get('/users/:id', (req, res) => res.type('json').send(body(req.params.id)));
    return new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s.address().port));
    });
  }
  if (framework === 'fastify') {
    const app = require('fastify')();
    if (options) await app.register(require('@spanprof/fastify').spanprof, options);
    app.get('/users/:id', async (request, reply) => reply.type('application/json').send(body(request.params.id)));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app.server.address().port;
  }
  const Koa = require('koa');
  const Router = require('@koa/router');
  const app = new Koa();
  if (options) app.use(require('@spanprof/koa').spanprof(options));
  const router = new Router();
  router.get('/users/:id', (ctx) => {
    ctx.type = 'json';
    ctx.body = body(ctx.params.id);
  });
  app.use(router.routes());
  return new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s.address().port));
  });
}

(async () => {
  const ports = {};
  for (const variant of Object.keys(VARIANTS)) ports[variant] = await listen(variant);
  const control = http.createServer((req, res) => {
    const { user, system } = process.cpuUsage();
    res.end(JSON.stringify({ cpuMicros: user + system }));
  });
  control.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ ports, control: control.address().port })}\n`);
  });
  process.on('SIGTERM', () => {
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
})();
