import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

// Each backend choice runs in its own process: tfjs keeps one global backend per process.
function runWith(choice: string): { status: number | null; out: string; info: { name: string; skipped: { name: string }[] } } {
  const code = `import { initBackend } from './src/runtime/backend.ts';
    const info = await initBackend(process.argv[1]);
    console.log(JSON.stringify(info));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, choice], { encoding: 'utf8' });
  // tfjs prints a banner on stdout for the cpu backend; the JSON line is the one we wrote.
  const line = r.stdout.split('\n').filter((l) => l.startsWith('{')).pop() ?? 'null';
  return { status: r.status, out: r.stdout + r.stderr, info: JSON.parse(line) };
}

test('forcing wasm selects wasm', () => {
  const r = runWith('wasm');
  assert.equal(r.status, 0, r.out);
  assert.equal(r.info.name, 'wasm');
});

test('forcing cpu selects cpu', () => {
  const r = runWith('cpu');
  assert.equal(r.status, 0, r.out);
  assert.equal(r.info.name, 'cpu');
});

test('auto selects wasm and never tries tfjs-node, which only an explicit choice loads', () => {
  const r = runWith('auto');
  assert.equal(r.status, 0, r.out);
  assert.equal(r.info.name, 'wasm');
  assert.deepEqual(r.info.skipped, []);
});
