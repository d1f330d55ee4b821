'use strict';
// A node:test reporter for bench/faults.js: one JSON line per top-level test (name, passed or
// not, skipped) and per figure a test reports (`t.diagnostic('figure [item N]: ...')`).
module.exports = async function* faultsReporter(source) {
  for await (const event of source) {
    const { type, data } = event;
    if ((type === 'test:pass' || type === 'test:fail') && data.nesting === 0 && data.details?.type !== 'suite') {
      yield `${JSON.stringify({ kind: 'result', name: data.name, ok: type === 'test:pass', skip: data.skip !== undefined && data.skip !== false, error: type === 'test:fail' ? String(data.details?.error?.cause?.message ?? data.details?.error?.message ?? '').slice(0, 300) : undefined })}\n`;
    } else if (type === 'test:diagnostic' && typeof data.message === 'string' && data.message.startsWith('figure [')) {
      yield `${JSON.stringify({ kind: 'figure', message: data.message })}\n`;
    }
  }
};
