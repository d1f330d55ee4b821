'use strict';
// Helpers shared by the bench scripts: medians and their interval, a server
// child process started and stopped the bench way, and /proc figures of
// another process (Linux).
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * A distribution-free 95% confidence interval of the median (order statistics,
 * normal approximation of the binomial): the range the true median lies in,
 * given this run's spread. Needs about 20 values to mean much; with 7 or fewer
 * it is the whole range.
 */
function medianInterval(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  const half = 0.98 * Math.sqrt(n);
  return [s[Math.max(0, Math.floor(n / 2 - half))], s[Math.min(n - 1, Math.ceil(n / 2 + half) - 1)]];
}

/** Children started by startServer that have not exited yet. */
const live = new Set();

/**
 * Starts `script` (default bench/server.js) on `node` with `env` added to this
 * process's environment, and resolves with { child, port } once it printed its
 * {"port":N} line; rejects if it exits or fails first, or is not listening
 * after `timeoutMillis` (then it is killed). Its other output goes to this
 * process's stderr.
 */
function startServer({ node = process.execPath, script = path.join(__dirname, 'server.js'), env = {}, args = [], timeoutMillis = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [...args, script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const fail = (err) => {
      clearTimeout(timer);
      reject(err);
    };
    const onExit = (code, signal) => fail(new Error(`${path.basename(script)} exited (${signal ?? code}) before listening`));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${path.basename(script)} not listening after ${timeoutMillis} ms`));
    }, timeoutMillis);
    child.once('error', fail);
    child.once('exit', onExit);
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let port;
      try {
        port = JSON.parse(line).port;
      } catch {
        // not the port line
      }
      if (typeof port !== 'number') {
        process.stderr.write(`${line}\n`);
        return;
      }
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.removeAllListeners('line');
      lines.on('line', (l) => process.stderr.write(`${l}\n`));
      resolve({ child, port });
    });
  });
}

/** Stops a child process: SIGTERM, then SIGKILL if it has not exited after `graceMillis`. */
function stopChild(child, graceMillis = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMillis);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Stops every child startServer started that is still running (see stopChild). */
function stopAllChildren(graceMillis) {
  return Promise.all([...live].map((child) => stopChild(child, graceMillis)));
}

/**
 * Stops every server child when this process is interrupted (SIGINT, SIGTERM),
 * then exits, and kills any still running when it exits; call once from a
 * bench's main script.
 */
function stopChildrenOnSignals() {
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      stopAllChildren().finally(() => process.exit(130));
    });
  }
}

let clockTicks;
/** CPU time (user + system, all threads, living and ended) of process `pid`, µs; clock-tick resolution. */
function processCpuMicros(pid) {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ": state is field 3, utime and stime fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks;
}

/** Peak resident set size (VmHWM) of process `pid`, bytes. */
function peakRssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)[1]) * 1024;
}

module.exports = { median, medianInterval, startServer, stopChild, stopAllChildren, stopChildrenOnSignals, processCpuMicros, peakRssBytes };
