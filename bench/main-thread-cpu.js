'use strict';
const fs = require('node:fs');

/**
 * CPU time of a process's main thread in nanoseconds (Linux: the scheduler's
 * figure). For this process (the default) it falls back to the whole process's
 * CPU time where /proc is missing; for another process it throws there.
 */
function mainThreadCpuNanos(pid = process.pid) {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch (err) {
    if (pid !== process.pid) throw err;
    const { user, system } = process.cpuUsage();
    return (user + system) * 1000;
  }
}

module.exports = { mainThreadCpuNanos };
