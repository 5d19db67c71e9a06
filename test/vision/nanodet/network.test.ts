// Kestrel's channels-last forward pass against tfjs's graph executor over the same shipped weights, on real
// photographs: raw outputs within 1e-4. Also what the graph cannot do: other sizes and batches.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { initBackend, tf } from '../../../src/runtime/backend.js';
import { openGraphModel, readGraphArtifacts } from '../../../src/vision/nanodet/graph.js';
import { NanoDetNetwork } from '../../../src/vision/nanodet/network.js';
import { decodeToInput } from '../../../src/vision/image.js';

const MEAN = [103.53, 116.28, 123.675];
const STD = [57.375, 57.12, 58.395];
let graph: GraphModel;
let net: NanoDetNetwork;

before(async () => {
  await initBackend('wasm');
  const a = await readGraphArtifacts('models/coco/nanodet.json');
  graph = await openGraphModel(a);
  net = new NanoDetNetwork(a.topology.node, graph.weights, 80, 44, 416);
});
after(() => graph.dispose());

async function input(file: string, side: number): Promise<tf.Tensor4D> {
  const d = await decodeToInput(readFileSync(file), { width: side, height: side }, undefined, 'center', 0);
  return tf.tidy(() => tf.div(tf.sub(tf.reverse(tf.tensor4d(d.pixels, [1, side, side, 3], 'float32'), 3), MEAN), STD) as tf.Tensor4D);
}

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

for (const photo of ['test/fixtures/astronaut.jpg', 'test/fixtures/camera.jpg']) {
  test(`kestrel's forward pass equals the graph executor within 1e-4 on ${photo}`, async () => {
    const x = await input(photo, 416);
    const ref = tf.tidy(() => graph.execute(tf.transpose(x, [0, 3, 1, 2])) as tf.Tensor[]);
    const own = net.run(x);
    try {
      const mine = [...own.scores, ...own.bins];
      assert.equal(ref.length, 6);
      for (const r of ref) {
        const m = mine.find((t) => t.shape.join() === r.shape.join());
        assert.ok(m, `no output of shape ${r.shape.join('×')}`);
        const d = maxAbsDiff(m, r);
        assert.ok(d < 1e-4, `${r.shape.join('×')}: max |Δ| ${d}`);
      }
      // Levels come back ordered by stride: 52², 26², 13² positions at 416.
      assert.deepEqual(own.scores.map((t) => t.shape[1]), [2704, 676, 169]);
      // Real scores, not an empty map: a person is in both photographs.
      assert.ok(tf.tidy(() => tf.max(own.scores[0]).dataSync()[0]) > 0.3 || tf.tidy(() => tf.max(own.scores[1]).dataSync()[0]) > 0.3);
    } finally {
      tf.dispose([x, ...ref, ...own.scores, ...own.bins]);
    }
  });
}

test('kestrel\'s pass runs other sizes and batches, and a batch gives each image its own answer', async () => {
  // A fresh network whose first run is at another size than the graph's: its resizes must still scale by 2.
  const a0 = await readGraphArtifacts('models/coco/nanodet.json');
  const g0 = await openGraphModel(a0);
  const fresh = new NanoDetNetwork(a0.topology.node, g0.weights, 80, 44, 416);
  const x0 = tf.zeros([1, 320, 320, 3]) as tf.Tensor4D;
  const r0 = fresh.run(x0);
  assert.deepEqual(r0.scores.map((t) => t.shape[1]), [1600, 400, 100]);
  tf.dispose([x0, ...r0.scores, ...r0.bins]);
  g0.dispose();
  const before = tf.memory().numTensors;
  const a = await input('test/fixtures/astronaut.jpg', 320);
  const b = await input('test/fixtures/camera.jpg', 320);
  const both = tf.concat([a, b], 0);
  const one = net.run(b);
  const two = net.run(both);
  try {
    assert.deepEqual(two.scores.map((t) => t.shape), [[2, 1600, 80], [2, 400, 80], [2, 100, 80]]);
    assert.deepEqual(two.bins.map((t) => t.shape), [[2, 1600, 44], [2, 400, 44], [2, 100, 44]]);
    for (let l = 0; l < 3; l++) {
      const second = tf.slice(two.bins[l], [1, 0, 0], [1, -1, -1]);
      assert.ok(maxAbsDiff(second, one.bins[l]) < 1e-4, `level ${l}: batch member differs from the single run`);
      second.dispose();
    }
  } finally {
    tf.dispose([a, b, both, ...one.scores, ...one.bins, ...two.scores, ...two.bins]);
  }
  assert.equal(tf.memory().numTensors, before, 'the forward pass leaks tensors');
});

test('the served model (its own normalisation and pass) equals the graph executor on tf-normalised input', async () => {
  const { readManifest } = await import('../../../src/runtime/registry.js');
  const { loadNanoDet } = await import('../../../src/vision/nanodet/loader.js');
  const model = (await loadNanoDet(await readManifest('models/coco'), 'models/coco')) as import('../../../src/vision/nanodet/model.js').NanoDetDetector;
  try {
    const d = await decodeToInput(readFileSync('test/fixtures/camera.jpg'), { width: 416, height: 416 }, undefined, 'center', 0);
    const levels = (await model.forward(d.pixels, 1, 416))[0];
    const x = await input('test/fixtures/camera.jpg', 416);
    const ref = tf.tidy(() => graph.execute(tf.transpose(x, [0, 3, 1, 2])) as tf.Tensor[]);
    try {
      for (const [l, lv] of levels.entries()) {
        const want = [2704, 676, 169][l];
        const s = ref.find((t) => t.shape[1] === want && t.shape[2] === 80)!.dataSync();
        const b = ref.find((t) => t.shape[1] === want && t.shape[2] === 44)!.dataSync();
        let worst = 0;
        for (let i = 0; i < s.length; i++) worst = Math.max(worst, Math.abs(s[i] - lv.scores[i]));
        for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(b[i] - lv.bins[i]));
        assert.ok(worst < 1e-4, `level ${l}: max |Δ| ${worst}`);
      }
    } finally {
      tf.dispose([x, ...ref]);
    }
  } finally {
    model.dispose();
  }
});
