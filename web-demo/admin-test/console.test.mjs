// Browser tests of mailbot's admin console, in headless Chromium: a real `mailbot serve` over a temp
// store, the Kent demo form posting to its web-form endpoint, sign-in, review, and a case whose email
// subject and body carry script and HTML-injection payloads (nothing may run; the page stays whole).
//
// Needs the mailbot binary: $MAILBOT_BIN, else ${CARGO_TARGET_DIR:-target}/debug/mailbot (scripts/test
// builds it), and web-demo/pkg (scripts/test-web builds it).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers.mjs';
import { startServer } from '../serve.mjs';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const MAILBOT = process.env.MAILBOT_BIN ?? join(resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target'), 'debug', 'mailbot');
const PASSWORD = 'a long staff password';

// Every way we know of to make a page run script or load remote content, in the subject and the body.
const SUBJECT = `</title><script>window.__pwned = 'subject'</script><img src=x onerror="window.__pwned='img'"> Pothole`;
const PAYLOADS = [
  `<script>alert('script')</script>`,
  `<img src="x" onerror="alert('onerror')">`,
  `<iframe src="javascript:alert('iframe')"></iframe>`,
  `<a href="javascript:alert('link')">click me</a>`,
  `</textarea></pre></title><svg onload="alert('svg')">`,
  `"><script>window.__pwned='attr'</script>`,
  `<img src="https://tracker.example/pixel.gif">`,
  `{{ 7 * 7 }} {% raw %}`,
];
const BODY_TEXT = `I am unhappy: the pothole on Station Road was reported twice and ignored.\n${PAYLOADS.join('\n')}`;
const BODY_HTML = `<html><head><title>x</title><script>alert('head')</script></head><body><p>I am unhappy: the pothole on Station Road was reported twice and ignored.</p>${PAYLOADS.join('<br>')}</body></html>`;

function freePort() {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

function injectionEmail() {
  return [
    'From: "<script>alert(1)</script>" <resident@example.org>',
    'To: county.hall@kent.example',
    `Subject: ${SUBJECT}`,
    'Date: Wed, 25 Nov 2026 10:00:00 +0000',
    'Message-ID: <injection@example.org>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    '--outer',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    '',
    BODY_TEXT,
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    '',
    BODY_HTML,
    '--alt--',
    '--outer',
    'Content-Type: text/html',
    'Content-Disposition: attachment; filename="<script>alert(9)</script>.html"',
    '',
    '<script>alert("attachment")</script>',
    '--outer--',
    '',
  ].join('\r\n');
}

let env;

before(async () => {
  assert.ok(existsSync(MAILBOT), `build mailbot first (cargo build -p mailbot): ${MAILBOT} is missing`);
  const dir = mkdtempSync(join(tmpdir(), 'fd-console-'));
  const port = await freePort();
  const consoleBase = `http://127.0.0.1:${port}`;
  // The demo form, posting to the console's endpoint.
  const form = await startServer({ port: 0, deskUrl: `${consoleBase}/api/cases` });
  const demoBase = `http://127.0.0.1:${form.address().port}`;
  const hash = execFileSync(MAILBOT, ['hash-password'], { input: `${PASSWORD}\n` }).toString().trim();
  const config = join(dir, 'mailbot.toml');
  writeFileSync(config, `store = "${join(dir, 'store')}"

[[mailbox]]
name = "county-hall"
host = "127.0.0.1"
tls = "plain-loopback"
user = "feedback"
secret_env = "UNUSED_IN_THIS_TEST"

[admin]
listen = "127.0.0.1:${port}"
insecure_http_on_loopback = true
form_origins = ["${demoBase}"]

[[admin.user]]
name = "alice"
password_hash = "${hash}"
`);
  // The email arrives through `mailbot import` of a Maildir: the same parse and assess as live mail.
  const maildir = join(dir, 'maildir');
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(maildir, sub), { recursive: true });
  writeFileSync(join(maildir, 'new', '1700000000.1.injection'), injectionEmail());
  execFileSync(MAILBOT, ['import', config, '--maildir', maildir], { stdio: 'ignore' });
  const serve = spawn(MAILBOT, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  serve.stderr.on('data', (chunk) => (log += chunk));
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${consoleBase}/login`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 100) throw new Error(`mailbot serve did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  env = {
    dir,
    consoleBase,
    form,
    browser,
    serve,
    async close() {
      await browser.close();
      serve.kill('SIGTERM');
      await new Promise((r) => form.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

after(async () => {
  await env?.close();
});

/** A page that records dialogs, console errors, page errors and every request. */
async function open(path) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const events = { dialogs: [], problems: [], requests: [] };
  page.on('dialog', async (dialog) => {
    events.dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') events.problems.push(m.text());
  });
  page.on('pageerror', (e) => events.problems.push(e.message));
  context.on('request', (r) => events.requests.push(r.url()));
  await page.goto(env.consoleBase + path);
  return { page, context, events };
}

async function signIn(page) {
  await page.goto(`${env.consoleBase}/login`);
  await page.fill('input[name=user]', 'alice');
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL(`${env.consoleBase}/`), page.click('button[type=submit]')]);
}

describe('the admin console', () => {
  it('shows the sign-in page, not data, without a session, and refuses a wrong password', async () => {
    const { page, context } = await open('/cases');
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(await page.locator('#review-queue').count(), 0);
    await page.fill('input[name=user]', 'alice');
    await page.fill('input[name=password]', 'not the password');
    await page.click('button[type=submit]');
    assert.match(await page.locator('#login-error').innerText(), /wrong user name or password/);
    const cookies = await context.cookies();
    assert.equal(cookies.filter((c) => c.name === 'fd_session').length, 0);
    await context.close();
  });

  it('takes a case from the demo form and shows the reference it answers with', async () => {
    const base = `http://127.0.0.1:${env.form.address().port}`;
    const context = await env.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.fill('#full-name', 'Pat Resident');
    await page.fill('#email', 'pat@example.org');
    await page.fill('#message', 'Thank you to the library staff in Ashford, they were brilliant and so helpful.');
    await page.click('button[type=submit]');
    const answer = page.locator('.fd-answer');
    await answer.filter({ hasText: 'reference' }).waitFor();
    const reference = await answer.getAttribute('data-reference');
    assert.match(reference, /^KCC-\d{4}-\d{6}$/);
    assert.match(await answer.innerText(), new RegExp(`Your reference is ${reference}\\.`));
    env.webReference = reference;
    await context.close();
  });

  it('signs in and confirms a case from the review queue', async () => {
    assert.ok(env.webReference, 'the web form made a case');
    const { page, context, events } = await open('/login');
    await signIn(page);
    const cookie = (await context.cookies()).find((c) => c.name === 'fd_session');
    assert.ok(cookie.httpOnly);
    assert.equal(cookie.sameSite, 'Strict');
    const card = page.locator(`li[data-reference="${env.webReference}"]`);
    assert.equal(await card.count(), 1);
    assert.match(await card.innerText(), /web_form/);
    await Promise.all([page.waitForURL(/done=confirmed/), card.locator('button[value=confirm]').click()]);
    assert.match(await page.locator('.message').innerText(), /Classification confirmed/);
    assert.match(await page.locator('main').innerText(), /reviewed by alice/);
    assert.equal(await page.locator(`#review-queue li[data-reference="${env.webReference}"]`).count(), 0);
    assert.deepEqual(events.dialogs, []);
    assert.deepEqual(events.problems, []);
    await context.close();
  });

  it('shows an email full of script and markup as text: nothing runs, the page is whole', async () => {
    const { page, context, events } = await open('/login');
    await signIn(page);
    const link = page.locator('#review-queue h2 a').filter({ hasNotText: env.webReference ?? '-' }).first();
    const reference = await link.innerText();
    await page.goto(`${env.consoleBase}/cases/${reference}`);
    // The subject is shown, as text, in the title and the heading: the </title> did not break out.
    const title = await page.title();
    assert.ok(title.includes('</title><script>'), title);
    assert.ok(title.endsWith('· Feedback Desk'), title);
    assert.ok((await page.locator('#case-title').innerText()).includes(SUBJECT));
    // No element the messages could have made exists, and nothing ran.
    const counts = await page.evaluate(() => ({
      scripts: document.querySelectorAll('script').length,
      iframes: document.querySelectorAll('iframe').length,
      images: document.querySelectorAll('img').length,
      svgs: document.querySelectorAll('svg').length,
      jsLinks: document.querySelectorAll('a[href^="javascript:"]').length,
      handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
      pwned: window.__pwned ?? null,
    }));
    assert.deepEqual(counts, { scripts: 0, iframes: 0, images: 0, svgs: 0, jsLinks: 0, handlers: 0, pwned: null });
    await page.waitForTimeout(300);
    assert.deepEqual(events.dialogs, []);
    assert.deepEqual(events.problems, []);
    // Nothing remote was fetched: only the console itself.
    assert.deepEqual(events.requests.filter((url) => !url.startsWith(env.consoleBase)), []);
    // The page is whole: the body text, the attachment, the forms after the messages are all there.
    const body = await page.locator('pre.body').first().innerText();
    for (const payload of PAYLOADS) assert.ok(body.includes(payload), `shown as text: ${payload}`);
    assert.match(await page.locator('ul.attachments').innerText(), /<script>alert\(9\)<\/script>\.html · text\/html/);
    assert.equal(await page.locator('#notes + form textarea[name=text]').count(), 1);
    assert.equal(await page.locator('#history').count(), 1);
    // A note full of markup is kept as text too.
    await page.fill('#notes + form textarea[name=text]', `<script>alert('note')</script> rang back`);
    await Promise.all([page.waitForURL(/done=noted/), page.click('#notes + form button[type=submit]')]);
    assert.match(await page.locator('#notes').innerText(), /<script>alert\('note'\)<\/script> rang back/);
    // And a lifecycle action works on this page.
    await page.selectOption('#actions select[name=outcome]', 'partly_upheld');
    await Promise.all([page.waitForURL(/done=acted/), page.click('#actions button[value=respond]')]);
    assert.equal(await page.locator('#case-status').innerText(), 'responded');
    assert.deepEqual(events.dialogs, []);
    assert.deepEqual(events.problems, []);
    await context.close();
  });
});
