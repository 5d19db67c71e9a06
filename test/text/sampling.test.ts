import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler, argmax, logProb, seededRandom } from '../../src/text/sampling.js';

const logits = Float32Array.from([1, 3, 2, 0.5, 2.9]);

test('seeded random: same seed, same stream; different seeds differ; values in [0, 1)', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const c = seededRandom(43);
  const xs = Array.from({ length: 100 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b()));
  assert.notDeepEqual(xs, Array.from({ length: 100 }, () => c()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test('temperature 0 is greedy whatever the draw', () => {
  const s = new Sampler(5, { temperature: 0 });
  for (const u of [0, 0.3, 0.999]) assert.equal(s.sample(logits, u), 1);
  assert.equal(argmax(logits), 1);
});

test('topK 1 and a tiny topP reduce to the most likely character', () => {
  const k1 = new Sampler(5, { temperature: 1, topK: 1 });
  const p = new Sampler(5, { temperature: 1.5, topP: 0.01 });
  for (const u of [0, 0.5, 0.999]) {
    assert.equal(k1.sample(logits, u), 1);
    assert.equal(p.sample(logits, u), 1);
  }
});

test('topK 2 only ever picks the two most likely; frequencies follow the renormalised softmax', () => {
  const s = new Sampler(5, { temperature: 1, topK: 2 });
  const counts = [0, 0, 0, 0, 0];
  const n = 20000;
  for (let i = 0; i < n; i++) counts[s.sample(logits, (i + 0.5) / n)]++;
  assert.equal(counts[0] + counts[2] + counts[3], 0);
  const want = Math.exp(3) / (Math.exp(3) + Math.exp(2.9));
  assert.ok(Math.abs(counts[1] / n - want) < 0.01, `${counts[1] / n} vs ${want}`);
});

test('plain sampling matches softmax probabilities at temperature 0.5', () => {
  const s = new Sampler(5, { temperature: 0.5 });
  const n = 20000;
  const counts = new Array(5).fill(0);
  for (let i = 0; i < n; i++) counts[s.sample(logits, (i + 0.5) / n)]++;
  const e = Array.from(logits, (x) => Math.exp(x / 0.5));
  const z = e.reduce((a, b) => a + b);
  e.forEach((x, i) => assert.ok(Math.abs(counts[i] / n - x / z) < 0.005, `class ${i}`));
});

test('log-probabilities are a normalised log-softmax', () => {
  const total = [0, 1, 2, 3, 4].reduce((s, i) => s + Math.exp(logProb(logits, i)), 0);
  assert.ok(Math.abs(total - 1) < 1e-6);
  assert.throws(() => new Sampler(5, { temperature: -1 }));
  assert.throws(() => new Sampler(5, { temperature: 1, topP: 0 }));
  assert.throws(() => new Sampler(5, { temperature: 1, topK: 0 }));
});
