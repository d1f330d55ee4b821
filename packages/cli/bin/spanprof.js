#!/usr/bin/env node
'use strict';
// The reader of a pipe may stop before the output ends (`spanprof spans DIR | head`):
// it has what it wanted, so the command ends quietly, as a pipeline expects.
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});
require('../build/src/main.js')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
