import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../src/runtime/backend.js';
import { loadCharRnnFromDir, OutOfVocabularyError } from '../../src/text/char-rnn-model.js';
import { CharRnnNet, CELLS, paramCount } from '../../src/text/network.js';
import { Stepper, stepperWeights } from '../../src/text/stepper.js';
import { clipByGlobalNorm, evaluate, train } from '../../src/text/train.js';
import { Vocabulary } from '../../src/text/vocab.js';
import { saveModel } from '../../src/text/weights-io.js';
import { loaderFor } from '../../src/runtime/loaders.js';
import { run as runEval } from '../../src/cli/eval-char-rnn.js';

before(async () => {
  await initBackend();
});

const TEXT = 'the cat sat on the mat.\nthe dog sat on the log.\n';

for (const cell of CELLS) {
  test(`${cell}: the one-character stepper reproduces the tfjs network's logits at every step`, async () => {
    const net = new CharRnnNet({ cell, layers: 2, hidden: 12, vocabSize: 7, dropout: 0 }, 3);
    // Larger weights than the initialiser's, so gates saturate differently and errors would show.
    tf.tidy(() => net.variables().forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 100 + i))));
    const ids = [3, 1, 4, 1, 5, 0, 2, 6, 5, 3];
    const ref = tf.tidy(() => net.forward(tf.tensor2d(ids, [ids.length, 1], 'int32'), undefined, false).logits.arraySync() as number[][]);
    const s = new Stepper(stepperWeights(cell, 2, await net.toArrays()));
    ids.forEach((id, t) => {
      const got = s.step(id);
      for (let v = 0; v < 7; v++) assert.ok(Math.abs(got[v] - ref[t][v]) < 1e-4, `step ${t} class ${v}: ${got[v]} vs ${ref[t][v]}`);
    });
    assert.equal(net.paramCount(), paramCount(cell, 2, 12, 7));
    net.dispose();
  });
}

test('evaluation carries the state across chunks: the loss does not depend on the chunk length', () => {
  const net = new CharRnnNet({ cell: 'lstm', layers: 1, hidden: 8, vocabSize: 5, dropout: 0 }, 2);
  const ids = Int32Array.from({ length: 61 }, (_, i) => (i * 7) % 5);
  const whole = evaluate(net, ids, 1, 60);
  const chunked = evaluate(net, ids, 1, 6);
  assert.ok(Math.abs(whole - chunked) < 1e-5, `${whole} vs ${chunked}`);
  // Resetting the state per chunk would change it: the test can tell.
  net.dispose();
});

test('global-norm clipping scales all gradients by one factor, and leaves small ones alone', () => {
  tf.tidy(() => {
    const g = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) }; // norm 5
    const { grads, norm } = clipByGlobalNorm(g, 1);
    assert.ok(Math.abs(norm - 5) < 1e-6);
    assert.deepEqual(Array.from(grads.a.dataSync()).map((x) => +x.toFixed(6)), [0.6, 0]);
    assert.deepEqual(Array.from(grads.b.dataSync()).map((x) => +x.toFixed(6)), [0, 0.8]);
    const same = clipByGlobalNorm(g, 10);
    assert.deepEqual(Array.from(same.grads.a.dataSync()), [3, 0]);
  });
});

test('training on a tiny corpus lowers the validation loss, and the saved model loads, generates and scores', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kestrel-charrnn-'));
  try {
    const corpus = join(dir, 'corpus.txt');
    await writeFile(corpus, TEXT.repeat(30));
    const out = join(dir, 'tiny');
    const common = {
      corpus,
      outDir: out,
      name: 'tiny',
      cell: 'gru' as const,
      layers: 1,
      hidden: 24,
      dropout: 0,
      seq: 16,
      batch: 4,
      lr: 0.02,
      lrFinal: 1,
      optimizer: 'adam' as const,
      clip: 5,
      seed: 1,
      evalEverySec: 1e9,
      evalChars: 1000,
      checkpointEverySec: 1e9,
      valFraction: 0.1,
      samples: 1,
      log: () => {},
    };
    const first = await train({ ...common, steps: 1, resume: false });
    const r = await train({ ...common, steps: 60, resume: true });
    assert.equal(r.steps, 60);
    assert.ok(r.valLossNats < first.valLossNats - 0.5, `validation ${first.valLossNats} → ${r.valLossNats}`);
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    assert.equal(metrics.figures.valLossNats, r.valLossNats);
    assert.ok(Math.abs(metrics.figures.bitsPerChar - r.valLossNats / Math.LN2) < 1e-12);

    const model = await loadCharRnnFromDir(out);
    assert.equal(model.vocabulary, Vocabulary.fromText(TEXT).chars);
    const a = await model.generate({ prompt: 'the ', length: 40, temperature: 0.8, seed: 7 });
    const b = await model.generate({ prompt: 'the ', length: 40, temperature: 0.8, seed: 7 });
    assert.equal(a.text, b.text);
    assert.equal(a.finishReason, 'length');
    assert.equal(Array.from(a.text).length, 40);
    assert.ok(Array.from(a.text).every((c) => model.vocabulary.includes(c)));
    const greedy = await model.generate({ prompt: 'the cat sat on the ', length: 3, temperature: 0 });
    assert.equal(greedy.text, 'mat', `greedy continuation "${greedy.text}"`);

    const seen: string[] = [];
    const ctl = new AbortController();
    const stopped = await model.generate({ prompt: '', length: 500, temperature: 1, seed: 1, signal: ctl.signal, onToken: (c) => (seen.push(c), seen.length === 10 && ctl.abort()) });
    assert.equal(stopped.finishReason, 'aborted');
    assert.equal(stopped.text, seen.join(''));
    assert.ok(seen.length < 500);

    const good = await model.score('the cat sat on the mat.\n');
    const bad = await model.score('tac eht no tas god eht\n');
    assert.ok(good.nats < bad.nats, `${good.nats} vs ${bad.nats}`);
    assert.ok(Math.abs(good.perplexity - Math.exp(good.nats)) < 1e-9);
    assert.ok(Math.abs(good.bitsPerChar - good.nats / Math.LN2) < 1e-12);
    await assert.rejects(model.generate({ prompt: 'the CAT!', length: 1, temperature: 1 }), (e: unknown) => e instanceof OutOfVocabularyError && e.chars.join('') === 'CAT!');

    // The eval CLI scores the same held-out 10% the trainer did, with the same numbers.
    const printed: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => void printed.push(a.join(' '));
    let code: number;
    try {
      code = await runEval(['--model', out, '--corpus', corpus, '--json']);
    } finally {
      console.log = orig;
    }
    assert.equal(code, 0);
    const evalOut = JSON.parse(printed.at(-1)!);
    assert.deepEqual(Object.keys(evalOut).sort(), ['bitsPerChar', 'valLossNats']);
    assert.ok(Math.abs(evalOut.valLossNats - r.valLossNats) < 1e-6, `${evalOut.valLossNats} vs ${r.valLossNats}`);

    // The registered loader is the same code path the server uses.
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    const viaLoader = await (await loaderFor(manifest))(manifest, out);
    assert.equal(viaLoader.kind, 'char-rnn');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Adagrad with dropout between layers also learns (rnn cell, two layers)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kestrel-charrnn-'));
  try {
    const corpus = join(dir, 'corpus.txt');
    await writeFile(corpus, TEXT.repeat(30));
    const base = { corpus, outDir: join(dir, 'm'), name: 'm', cell: 'rnn' as const, layers: 2, hidden: 24, dropout: 0.2, seq: 16, batch: 4 };
    const rest = { lr: 0.05, lrFinal: 1, optimizer: 'adagrad' as const, clip: 1, seed: 2, evalEverySec: 1e9, evalChars: 500, checkpointEverySec: 1e9, valFraction: 0.1, samples: 0, log: () => {} };
    const before = await train({ ...base, ...rest, steps: 1, resume: false });
    const after = await train({ ...base, ...rest, steps: 50, resume: true });
    assert.ok(after.valLossNats < before.valLossNats - 0.3, `${before.valLossNats} → ${after.valLossNats}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a weights file that does not match the manifest is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kestrel-charrnn-'));
  try {
    const net = new CharRnnNet({ cell: 'rnn', layers: 1, hidden: 4, vocabSize: 3, dropout: 0 });
    await saveModel({ dir, name: 'x', vocabulary: 'abc', net: net.config, arrays: await net.toArrays() });
    net.dispose();
    await writeFile(join(dir, 'weights.bin'), Buffer.alloc(12));
    await assert.rejects(loadCharRnnFromDir(dir), /bytes/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
