import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ConfigError, loadConfig, packageRoot } from '../../src/server/config.js';

function problemsOf(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('defaults: port 8080 on 0.0.0.0, models beside the package, CORS off, no API key', () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.backend, 'auto');
  assert.equal(c.modelsDir, resolve(packageRoot(), 'models'));
  assert.deepEqual(c.corsOrigins, []);
  assert.equal(c.apiKey, undefined);
  assert.equal(c.shutdownTimeoutMs, 10_000);
});

test('values are parsed; empty means unset', () => {
  const c = loadConfig({ PORT: '9000', KESTREL_BACKEND: 'wasm', KESTREL_CORS_ORIGINS: 'https://a.example, http://b.example:3000', LOG_LEVEL: 'debug', KESTREL_MODELS_DIR: '/tmp/m', HOST: '' });
  assert.equal(c.port, 9000);
  assert.equal(c.backend, 'wasm');
  assert.deepEqual(c.corsOrigins, ['https://a.example', 'http://b.example:3000']);
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.modelsDir, '/tmp/m');
  assert.equal(c.host, '0.0.0.0');
});

test('each bad value is reported with its variable name', () => {
  assert.deepEqual(problemsOf({ PORT: 'eighty' }).map((p) => p.variable), ['PORT']);
  assert.match(problemsOf({ PORT: '70000' })[0].message, /70000|less than or equal/);
  assert.deepEqual(problemsOf({ KESTREL_BACKEND: 'gpu' }).map((p) => p.variable), ['KESTREL_BACKEND']);
  assert.deepEqual(problemsOf({ KESTREL_CORS_ORIGINS: 'not a url' }).map((p) => p.variable), ['KESTREL_CORS_ORIGINS']);
  const two = problemsOf({ LOG_LEVEL: 'loud', KESTREL_BODY_LIMIT: '-5' }).map((p) => p.variable).sort();
  assert.deepEqual(two, ['KESTREL_BODY_LIMIT', 'LOG_LEVEL']);
});

test('a bad API key is reported without echoing it', () => {
  const p = problemsOf({ KESTREL_API_KEY: 'short' });
  assert.equal(p[0].variable, 'KESTREL_API_KEY');
  assert.doesNotMatch(p[0].message, /short"/);
});

test('the server refuses to start on a bad variable, naming it', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/server/server.ts'], { env: { ...process.env, PORT: 'abc', KESTREL_BACKEND: 'cpu' }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /PORT/);
  assert.match(r.stderr, /abc/);
});
