// The shipped Shakespeare model: loads through the registered loader, samples reproducibly, and its
// recorded validation loss is consistent with what it scores on held-out text (when the corpus is here).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/runtime/backend.js';
import { loaderFor } from '../../src/runtime/loaders.js';
import { manifestSchema } from '../../src/runtime/manifest.js';
import type { CharRnnModel } from '../../src/runtime/models.js';
import { validationStart } from '../../src/text/corpus.js';

const DIR = 'models/shakespeare';
const CORPUS = ['../shared/data/tinyshakespeare.txt', '../../shared/data/tinyshakespeare.txt'].find((p) => existsSync(p));
const shipped = existsSync(join(DIR, 'manifest.json'));

before(async () => {
  await initBackend();
});

async function load(): Promise<CharRnnModel> {
  const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')));
  const m = await (await loaderFor(manifest))(manifest, DIR);
  assert.equal(m.kind, 'char-rnn');
  return m as CharRnnModel;
}

test('shipped model: loads, metrics are self-consistent, same seed gives the same text', { skip: shipped ? false : `${DIR} is not present` }, async () => {
  const m = await load();
  const metrics = JSON.parse(readFileSync(join(DIR, 'metrics.json'), 'utf8'));
  const f = metrics.figures;
  assert.ok(Math.abs(f.bitsPerChar - f.valLossNats / Math.LN2) < 1e-9);
  assert.ok(f.valLossNats < f.unigramEntropyNats, 'the model beats the no-context baseline');
  const a = await m.generate({ prompt: 'ROMEO:\n', length: 120, temperature: 0.8, seed: 11 });
  const b = await m.generate({ prompt: 'ROMEO:\n', length: 120, temperature: 0.8, seed: 11 });
  assert.equal(a.text, b.text);
  assert.equal(Array.from(a.text).length, 120);
});

test(
  'shipped model: the loss it scores on held-out Shakespeare agrees with metrics.json',
  { skip: !shipped ? `${DIR} is not present` : CORPUS ? false : 'tinyshakespeare.txt not found under ../shared/data (or ../../shared/data)' },
  async () => {
    const m = await load();
    const metrics = JSON.parse(readFileSync(join(DIR, 'metrics.json'), 'utf8'));
    const chars = Array.from(readFileSync(CORPUS!, 'utf8'));
    const held = chars.slice(validationStart(chars.length, 0.1));
    // A 2,000-character excerpt from the middle of the held-out text: noisy, hence the tolerance.
    const start = Math.floor(held.length / 2);
    const excerpt = held.slice(start, start + 2000).join('');
    const s = await m.score(excerpt);
    assert.ok(Math.abs(s.nats - metrics.figures.valLossNats) < 0.3, `excerpt ${s.nats.toFixed(3)} vs recorded ${metrics.figures.valLossNats.toFixed(3)} nats`);
  },
);
