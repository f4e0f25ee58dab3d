#!/usr/bin/env node
// Serves the web demo: `node web-demo/serve.mjs [port]` (default 8080, or $PORT), on 127.0.0.1.
// With FEEDBACK_DESK_URL set (e.g. http://127.0.0.1:8088/api/cases), the Kent form posts to mailbot's
// web-form endpoint and shows the case reference; this page's origin must be in mailbot's form_origins.
// Static files from this directory, and a stand-in for the council's form handler at POST /submit, so
// that the form can be sent with JavaScript switched off. Nothing is stored.

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};
// Only what a browser needs: not the tests, the npm packages or this server.
const HIDDEN = ['node_modules', 'test', 'package.json', 'package-lock.json', 'serve.mjs'];

export function startServer({ port = 8080, host = '127.0.0.1', deskUrl = process.env.FEEDBACK_DESK_URL } = {}) {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://localhost');
      if (req.method === 'POST' && url.pathname === '/submit') return submitted(req, res);
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed');
      let path = decodeURIComponent(url.pathname);
      if (path.endsWith('/')) path += 'index.html';
      const file = normalize(join(root, path));
      const top = file.slice(root.length).split(sep).filter(Boolean)[0] ?? '';
      if (!file.startsWith(root) || HIDDEN.includes(top)) return send(res, 404, 'text/plain', 'not found');
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) return send(res, 404, 'text/plain', 'not found');
      let body = await readFile(file);
      // With a Feedback Desk endpoint configured, the Kent form posts to it (see embed.js).
      if (deskUrl && path === '/index.html') {
        body = Buffer.from(body.toString('utf8').replace('<form id="feedback-form"', `<form id="feedback-form" data-feedback-desk="${escape(deskUrl)}"`));
      }
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': body.length,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      send(res, 400, 'text/plain', 'bad request');
    }
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8` });
  res.end(body);
}

function submitted(req, res) {
  let size = 0;
  const chunks = [];
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= 1_000_000) chunks.push(chunk);
  });
  req.on('end', () => {
    const fields = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const names = [...new Set(fields.keys())].map((k) => `<li>${escape(k)}</li>`).join('');
    send(res, 200, 'text/html', `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Feedback received (demonstration)</title>
<link rel="stylesheet" href="/site.css"></head><body><main id="main" class="width"><h1>Thank you: your feedback was received</h1>
<p>This demonstration server received the form with these fields, and stored nothing:</p><ul id="received-fields">${names}</ul>
<p><a href="/">Back to the form</a></p></main></body></html>`);
  });
}

function escape(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);
  const server = await startServer({ port });
  const { port: actual } = server.address();
  console.log(`Feedback Desk web demo: http://127.0.0.1:${actual}/ (other form: /other-form.html, benchmark: /bench.html)`);
}
