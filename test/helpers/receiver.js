'use strict';
// A profiling backend stand-in on 127.0.0.1: records every request (headers,
// raw body) and answers from a script of behaviours, then `ok` forever.
// Behaviours: { status, headers, body } | 'hang' (never answers) | 'reset' (drops the connection).
const http = require('node:http');
const zlib = require('node:zlib');
const busboy = require('busboy');

async function startReceiver(script = []) {
  const requests = [];
  const waiters = [];
  const pending = new Set();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const record = { method: req.method, url: new URL(req.url, 'http://x'), headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      requests.push(record);
      for (const w of waiters.splice(0)) w();
      const step = script.length > 0 ? script.shift() : { status: 200 };
      if (step === 'hang') {
        pending.add(res);
        return;
      }
      if (step === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(step.status, step.headers ?? {});
      res.end(step.body ?? '');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Resolves once `n` requests have arrived (or rejects after `ms`). */
    async waitFor(n, ms = 10_000) {
      const until = Date.now() + ms;
      while (requests.length < n) {
        if (Date.now() > until) throw new Error(`expected ${n} requests, got ${requests.length}`);
        await new Promise((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50).unref();
        });
      }
      return requests;
    },
    close() {
      for (const res of pending) res.destroy();
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The body as the backend reads it: gunzipped when Content-Encoding says gzip. */
function contentBody(record) {
  return record.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(record.body) : record.body;
}

/** Parses a multipart/form-data body with busboy, as a Go or Python backend would: { name: { filename, mimeType, data } }. */
function parseMultipart(record) {
  return new Promise((resolve, reject) => {
    const parts = {};
    const bb = busboy({ headers: record.headers });
    bb.on('file', (name, stream, info) => {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => (parts[name] = { filename: info.filename, mimeType: info.mimeType, data: Buffer.concat(chunks) }));
    });
    bb.on('field', (name, value) => (parts[name] = { value }));
    bb.on('close', () => resolve(parts));
    bb.on('error', reject);
    bb.end(record.body);
  });
}

module.exports = { startReceiver, contentBody, parseMultipart };
