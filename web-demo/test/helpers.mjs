// Shared set-up for the browser tests: the demo server on a free port and a headless Chromium.
import { chromium } from 'playwright-core';
import { startServer } from '../serve.mjs';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];

/** A Wednesday morning in the UK, well before the 5pm cut-off. */
export const NOW = new Date('2026-11-25T10:00:00Z');
export const TODAY = '2026-11-25';

export async function startAll() {
  const server = await startServer({ port: 0 });
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  return { server, base, browser, async close() { await browser.close(); await new Promise((r) => server.close(r)); } };
}

/**
 * Opens a page with the clock fixed at `now` (timers still run), recording console errors, page errors
 * and every request.
 */
export async function openPage(env, path, { now = NOW, javaScriptEnabled = true } = {}) {
  const context = await env.browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  const problems = [];
  const requests = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console.${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  context.on('request', (request) => requests.push(request.url()));
  if (javaScriptEnabled) await page.clock.setFixedTime(now);
  await page.goto(env.base + path);
  if (javaScriptEnabled) await page.waitForFunction(() => document.querySelector('form[data-feedback-guidance]')?.feedbackGuidance);
  return { page, context, problems, requests };
}

/** Sets a field's value as a paste would, then waits for the guidance to answer for it. */
export async function write(page, selector, text) {
  await page.locator(selector).fill(text);
  return settled(page);
}

/** Waits until the debounced guidance has caught up with the form, and returns what it rendered. */
export async function settled(page) {
  await page.waitForFunction(() => {
    const g = document.querySelector('form[data-feedback-guidance]').feedbackGuidance;
    return g && g.timer === null && g.announceTimer === null;
  });
  return guidance(page);
}

/** The guidance as the page shows it, and the input and result behind it. */
export async function guidance(page) {
  return page.evaluate(() => {
    const g = document.querySelector('form[data-feedback-guidance]').feedbackGuidance;
    return {
      status: g.status.textContent,
      text: g.region.innerText,
      dates: [...g.region.querySelectorAll('time')].map((t) => ({ datetime: t.getAttribute('datetime'), text: t.textContent })),
      input: g.lastInput,
      result: g.lastResult,
    };
  });
}

/** Calls the wasm module itself, in the page, as the engine's own answer. */
export async function engine(page, name, ...args) {
  return page.evaluate(async ({ name, args }) => {
    const module = await import('/pkg/feedback_wasm.js');
    return module[name](...args);
  }, { name, args });
}
