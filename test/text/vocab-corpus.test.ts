import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamBatcher, splitCorpus, validationStart } from '../../src/text/corpus.js';
import { Vocabulary, unigramEntropyNats } from '../../src/text/vocab.js';

test('vocabulary: sorted distinct characters, round trip, unknown characters named', () => {
  const v = Vocabulary.fromText('hello world\n');
  assert.equal(v.chars, '\n dehlorw');
  assert.equal(v.size, 9);
  const ids = v.encode('world');
  assert.deepEqual(Array.from(ids, v.decoder()).join(''), 'world');
  assert.deepEqual(v.unknown('hex!x?'), ['x', '!', '?']);
  assert.throws(() => v.encode('hi!'), /"i", "!"/);
  assert.throws(() => new Vocabulary('aba'), /duplicate/);
});

test('unigram entropy: uniform over 4 symbols is ln 4, a constant text is 0', () => {
  assert.ok(Math.abs(unigramEntropyNats(Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3]), 4) - Math.log(4)) < 1e-12);
  assert.equal(unigramEntropyNats(Int32Array.from([2, 2, 2]), 3), 0);
  // p = (3/4, 1/4): −(¾ ln ¾ + ¼ ln ¼)
  const h = unigramEntropyNats(Int32Array.from([0, 0, 0, 1]), 2);
  assert.ok(Math.abs(h - -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25))) < 1e-12);
});

test('split: the last 10% is validation, nothing lost or shared', () => {
  const ids = Int32Array.from({ length: 1000 }, (_, i) => i);
  const { train, val } = splitCorpus(ids, 0.1);
  assert.equal(train.length, 900);
  assert.equal(val.length, 100);
  assert.equal(val[0], 900);
  assert.equal(validationStart(1000, 0.1), 900);
  assert.throws(() => splitCorpus(ids, 0));
});

test('stream batches: time-major, targets are the next character, state-carrying chunks are contiguous', () => {
  const ids = Int32Array.from({ length: 103 }, (_, i) => i);
  const b = new StreamBatcher(ids, 4, 5); // streams of 25: 0..24, 25..49, ...
  assert.equal(b.chunks, 4); // (25 − 1) / 5
  const c0 = b.chunk(0);
  const c1 = b.chunk(1);
  // row t holds every stream's step t
  assert.deepEqual(Array.from(c0.inputs.subarray(0, 4)), [0, 25, 50, 75]);
  assert.deepEqual(Array.from(c0.inputs.subarray(4, 8)), [1, 26, 51, 76]);
  for (let i = 0; i < c0.inputs.length; i++) assert.equal(c0.targets[i], c0.inputs[i] + 1);
  // chunk k+1 continues exactly where chunk k stopped, per stream
  for (let s = 0; s < 4; s++) assert.equal(c1.inputs[s], c0.targets[4 * 4 + s]);
  assert.throws(() => b.chunk(4));
  assert.throws(() => new StreamBatcher(ids, 50, 5), /too short/);
});
