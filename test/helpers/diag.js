'use strict';
// Collects what the OpenTelemetry diag logger receives from `level` up, as
// lines "<level> <message> <args>".
const api = require('@opentelemetry/api');

function captureDiag(level = 'warn') {
  const lines = [];
  const push =
    (name) =>
    (msg, ...rest) =>
      lines.push(`${name} ${msg} ${rest.map(String).join(' ')}`);
  const levels = { warn: api.DiagLogLevel.WARN, info: api.DiagLogLevel.INFO, debug: api.DiagLogLevel.DEBUG };
  api.diag.setLogger({ error: push('error'), warn: push('warn'), info: push('info'), debug: push('debug'), verbose() {} }, levels[level]);
  return lines;
}

module.exports = { captureDiag };
