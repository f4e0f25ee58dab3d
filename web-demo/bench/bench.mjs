#!/usr/bin/env node
// Benchmarks in headless Chromium, printing the figures: median `assess` time on a 1,000-character
// message (bench.html), and the time from page load to the first guidance on the demo form.
// Budgets (DESIGN.md): median assess under 50 microseconds; the .wasm under 150 KB gzipped.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

import { startServer } from '../serve.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers.mjs';

const RUNS = 7;
const server = await startServer({ port: 0 });
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const page = await browser.newPage();
  await page.goto(`${base}/bench.html`);
  await page.waitForFunction(() => window.benchResult, null, { timeout: 120_000 });
  const assess = await page.evaluate(() => window.benchResult);
  await page.close();

  // Page load to first guidance: the message box already holds text when the page loads (a restored
  // form, or a fast paste), so this is load + module + policy + one assessment + rendering.
  const loads = [];
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext();
    const p = await context.newPage();
    await p.addInitScript(() => {
      document.addEventListener('DOMContentLoaded', () => {
        document.querySelector('#message').value = 'I reported the pothole outside my house in March and it is still not fixed. Nobody has called me back.';
      });
    });
    await p.goto(`${base}/`);
    await p.waitForFunction(() => performance.getEntriesByName('feedback-guidance:first').length > 0);
    loads.push(await p.evaluate(() => {
      const at = (name) => performance.getEntriesByName(name)[0].startTime;
      const nav = performance.getEntriesByType('navigation')[0];
      return { domContentLoaded: nav.domContentLoadedEventEnd, attached: at('feedback-guidance:attached'), first: at('feedback-guidance:first') };
    }));
    await context.close();
  }

  const wasm = readFileSync(new URL('../pkg/feedback_wasm_bg.wasm', import.meta.url));
  const figures = {
    chromium: browser.version(),
    assess_median_us: assess.median_us,
    assess_p10_us: assess.p10_us,
    assess_p90_us: assess.p90_us,
    assess_calls: assess.calls,
    assess_budget_us: 50,
    module_init_ms: assess.module_init_ms,
    policy_load_ms: assess.policy_load_ms,
    load_to_dom_content_loaded_ms: +median(loads.map((l) => l.domContentLoaded)).toFixed(1),
    load_to_embed_attached_ms: +median(loads.map((l) => l.attached)).toFixed(1),
    load_to_first_guidance_ms: +median(loads.map((l) => l.first)).toFixed(1),
    page_loads: RUNS,
    wasm_bytes: wasm.length,
    wasm_gzip_bytes: gzipSync(wasm, { level: 9 }).length,
    wasm_gzip_budget_bytes: 150 * 1024,
  };
  console.log(JSON.stringify(figures, null, 2));
  console.log(`assess on 1,000 characters: median ${figures.assess_median_us} us (budget 50 us) ${figures.assess_median_us < 50 ? 'OK' : 'OVER BUDGET'}`);
  console.log(`.wasm: ${(figures.wasm_gzip_bytes / 1024).toFixed(1)} KB gzipped (budget 150 KB) ${figures.wasm_gzip_bytes < 150 * 1024 ? 'OK' : 'OVER BUDGET'}`);
  console.log(`page load to first guidance: median ${figures.load_to_first_guidance_ms} ms (embed attached at ${figures.load_to_embed_attached_ms} ms)`);
} finally {
  await browser.close();
  server.close();
}
