'use strict';
const fs = require('node:fs');

/** CPU time of the main thread in nanoseconds (Linux: the scheduler's figure), else of the whole process. */
function mainThreadCpuNanos() {
  try {
    return Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    const { user, system } = process.cpuUsage();
    return (user + system) * 1000;
  }
}

module.exports = { mainThreadCpuNanos };
