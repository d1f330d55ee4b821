#!/usr/bin/env node
'use strict';
require('../build/src/main.js').main(process.argv).then((code) => {
  process.exitCode = code;
});
