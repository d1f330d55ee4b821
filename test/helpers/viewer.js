'use strict';
// `spanprof view` as users run it (a child process), and Debian's Chromium
// driven through playwright-core, for the tests of the viewer.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const repo = path.resolve(__dirname, '..', '..');
const bin = path.join(repo, 'packages', 'cli', 'bin', 'spanprof.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
/** node:test `skip` for browser tests: only outside CI, where a missing Chromium must fail instead. */
const skipBrowser = !hasChromium && process.env.CI !== 'true' && `no Chromium at ${CHROMIUM} (apt-get install chromium)`;

/** Starts `spanprof view DIR --port 0`; resolves with the child and its URL. */
function startViewer(directory) {
  const child = spawn(process.execPath, [bin, 'view', directory, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) resolve({ child, url: m[1], out: () => out });
    });
    child.stderr.on('data', (c) => (out += c));
    child.once('exit', (code) => reject(new Error(`spanprof view exited (${code}): ${out}`)));
  });
}

/** SIGTERMs the viewer; resolves with how it exited. */
async function stopViewer(child) {
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.kill('SIGTERM');
  return exited;
}

/** Launches Chromium headless, offline-minded (no QUIC, sync, component updates). */
/** Chromium headless, offline and quiet (no background fetches of its own), as the tests and the view-load bench run it. */
function launchChromium(executablePath = CHROMIUM) {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Routes every request of `page`: those to `origin` go on, any other is
 * aborted and listed in the returned array (a page that works offline leaves it empty).
 */
async function keepOffline(page, origin) {
  const foreign = [];
  await page.route('**/*', (route) => {
    if (route.request().url().startsWith(origin)) return route.continue();
    foreign.push(route.request().url());
    return route.abort();
  });
  return foreign;
}

/**
 * `spanprof view DIR` and a Chromium page (1400 x 1000) kept offline, with
 * the requests that left the viewer and the page's uncaught errors collected.
 * `close()` ends both.
 */
async function openViewerPage(directory) {
  const { child, url } = await startViewer(directory);
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const foreign = await keepOffline(page, url);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const close = async () => {
    await browser.close();
    return stopViewer(child);
  };
  return { page, url, foreign, pageErrors, close };
}

/** Waits until the page has rendered the current view (js/main.js sets `data-ready` on the body). */
const viewReady = (page) => page.waitForFunction(() => document.body.dataset.ready !== undefined && document.body.dataset.ready !== '');

module.exports = { bin, CHROMIUM, hasChromium, skipBrowser, launchChromium, startViewer, stopViewer, openViewerPage, viewReady };
