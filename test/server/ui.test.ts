// The try-it page as HTTP sees it: which files are served, with which headers, and what it leaves to
// the API (auth, limits, 404s). The page in a real browser is tested in ui-browser.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig, loadConfig, type Config } from '../../src/server/config.js';
import { initBackend } from '../../src/runtime/backend.js';
import { UI_CSP, uiRoot } from '../../src/server/plugins/ui.js';
import { fakeDetector, registryOf } from './fake-registry.js';

const KEY = 'correct-horse-battery';

async function app(over: Partial<Config> = {}) {
  await initBackend('cpu');
  return buildApp({ config: defaultConfig(over), registry: registryOf([fakeDetector('d1', { default: true })]), logger: false });
}

function pageFiles(dir = uiRoot()): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? pageFiles(p) : [relative(uiRoot(), p).split('\\').join('/')];
  });
}

function cspDirectives(header: string): Map<string, string[]> {
  return new Map(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name, values]),
  );
}

test('KESTREL_UI is on by default and false turns it off', () => {
  assert.equal(loadConfig({}).ui, true);
  assert.equal(loadConfig({ KESTREL_UI: 'false' }).ui, false);
  assert.equal(loadConfig({ KESTREL_UI: '0' }).ui, false);
  assert.throws(() => loadConfig({ KESTREL_UI: 'off' }), /KESTREL_UI/);
});

test('/ serves the page with a strict CSP of its own; every file in public/ is served with it', async () => {
  const server = await app();
  const r = await server.inject('/');
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/html/);
  assert.match(r.body, /<title>Kestrel/);
  const csp = cspDirectives(String(r.headers['content-security-policy']));
  assert.deepEqual(csp.get('default-src'), ["'self'"]);
  assert.deepEqual(csp.get('script-src'), ["'self'"]);
  assert.deepEqual(csp.get('style-src'), ["'self'"]);
  assert.deepEqual(csp.get('connect-src'), ["'self'"]);
  assert.deepEqual(csp.get('object-src'), ["'none'"]);
  assert.deepEqual(csp.get('frame-ancestors'), ["'none'"]);
  for (const [name, values] of csp) {
    for (const v of values) assert.doesNotMatch(v, /unsafe|^\*$|^https?:$|^http/, `${name} allows ${v}`);
  }
  const files = pageFiles();
  assert.ok(files.includes('index.html') && files.some((f) => f.endsWith('.js')) && files.some((f) => f.endsWith('.css')), files.join(', '));
  for (const f of files) {
    const res = await server.inject(`/${f}`);
    assert.equal(res.statusCode, 200, f);
    assert.equal(res.headers['content-security-policy'], UI_CSP, f);
    assert.equal(res.headers['x-content-type-options'], 'nosniff', f);
    assert.equal(res.body, readFileSync(join(uiRoot(), f), 'utf8'), f);
  }
  await server.close();
});

test('the page has no inline script or style, and every file it references is served', async () => {
  const html = readFileSync(join(uiRoot(), 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<style/i);
  assert.doesNotMatch(html, /\sstyle\s*=/i);
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'inline event handler');
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    assert.match(m[1], /\ssrc="/, 'a script without src is inline');
    assert.equal(m[2].trim(), '');
  }
  const server = await app();
  const refs = [...html.matchAll(/\s(?:src|href)="([^"#:]+)"/g)].map((m) => m[1]).filter((u) => u !== 'docs');
  assert.ok(refs.length >= 3, refs.join(', '));
  for (const ref of refs) assert.equal((await server.inject(`/${ref}`)).statusCode, 200, ref);
  // Modules the entry point imports, one level deep, are served too.
  for (const js of pageFiles().filter((f) => f.endsWith('.js'))) {
    const src = readFileSync(join(uiRoot(), js), 'utf8');
    for (const m of src.matchAll(/from '\.\/([\w.-]+)'/g)) {
      assert.equal((await server.inject(`/js/${m[1]}`)).statusCode, 200, `${js} imports ${m[1]}`);
    }
  }
  await server.close();
});

test('the API keeps its own headers: no page CSP on API answers, unknown paths are still problem+json 404s', async () => {
  const server = await app();
  const models = await server.inject('/v1/models');
  assert.equal(models.statusCode, 200);
  assert.equal(models.headers['content-security-policy'], undefined);
  for (const path of ['/nope.js', '/js/nope.js', '/../package.json', '/%2e%2e/package.json', '/js/../../package.json', '/.gitignore']) {
    const r = await server.inject(path);
    assert.equal(r.statusCode, 404, path);
    assert.match(String(r.headers['content-type']), /^application\/problem\+json/, path);
    assert.equal(r.headers['content-security-policy'], undefined, path);
  }
  const post = await server.inject({ method: 'POST', url: '/', payload: 'x' });
  assert.equal(post.statusCode, 404);
  await server.close();
});

test('with an API key the page loads without it, but the API it calls still needs it', async () => {
  const server = await app({ apiKey: KEY });
  for (const path of ['/', '/index.html', '/js/main.js', '/style.css']) assert.equal((await server.inject(path)).statusCode, 200, path);
  const open = await server.inject('/v1/models');
  assert.equal(open.statusCode, 401);
  assert.match(String(open.headers['content-type']), /^application\/problem\+json/);
  const keyed = await server.inject({ url: '/v1/models', headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(keyed.statusCode, 200);
  await server.close();
});

test('KESTREL_UI=false: / and the page files are 404, the API is unchanged', async () => {
  const server = await app({ ui: false });
  for (const path of ['/', '/index.html', '/js/main.js']) {
    const r = await server.inject(path);
    assert.equal(r.statusCode, 404, path);
    assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  }
  assert.equal((await server.inject('/v1/models')).statusCode, 200);
  await server.close();
});

test('the page counts against the rate limit like any other route', async () => {
  const server = await app({ rateLimit: 2 });
  assert.equal((await server.inject('/')).statusCode, 200);
  assert.equal((await server.inject('/style.css')).statusCode, 200);
  const third = await server.inject('/js/main.js');
  assert.equal(third.statusCode, 429);
  assert.match(String(third.headers['content-type']), /^application\/problem\+json/);
  await server.close();
});
