// NanoDet as a frozen backbone: the taps are found from the graph's structure, and the values kestrel's
// pass returns for them equal the graph executor's values of the same nodes on a real photograph.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { initBackend, tf } from '../../../src/runtime/backend.js';
import { openGraphModel, readGraphArtifacts, type GraphArtifacts } from '../../../src/vision/nanodet/graph.js';
import { findTaps, NanoDetFeatures } from '../../../src/vision/nanodet/features.js';
import { nanodetInput } from '../../../src/vision/nanodet/model.js';
import { decodeToInput } from '../../../src/vision/image.js';

const MEAN_STD = { mean: [103.53, 116.28, 123.675], std: [57.375, 57.12, 58.395] };
let artifacts: GraphArtifacts;
let graph: GraphModel;

before(async () => {
  await initBackend('wasm');
  artifacts = await readGraphArtifacts('models/coco/nanodet.json');
  graph = await openGraphModel(artifacts);
});
after(() => graph.dispose());

const shapeOf = (name: string): number[] | undefined => graph.weights[name]?.[0]?.shape;

test('the taps are the three PAN outputs, one 3×3 convolution later the tower outputs, and before the neck the backbone stages', () => {
  const pan = findTaps(artifacts.topology.node, shapeOf, 124, 'pan');
  const tower = findTaps(artifacts.topology.node, shapeOf, 124, 'tower');
  const backbone = findTaps(artifacts.topology.node, shapeOf, 124, 'backbone');
  for (const t of [pan, tower, backbone]) assert.equal(t.length, 3);
  assert.equal(new Set([...pan, ...tower, ...backbone]).size, 9);
  const ops = new Map(artifacts.topology.node.map((n) => [n.name, n.op]));
  // The PAN's outputs are sums (lateral + resized), the tower's are activations, a CSP stage ends in a concat.
  for (const p of pan) assert.match(ops.get(p) ?? '', /^Add/);
  for (const t of tower) assert.equal(ops.get(t), 'LeakyRelu');
  for (const b of backbone) assert.equal(ops.get(b), 'ConcatV2');
  // 80 classes + 4 × 11 bins: a wrong depth finds no classifier and says so.
  assert.throws(() => findTaps(artifacts.topology.node, shapeOf, 125, 'pan'), /expected 3 head classifiers, found 0/);
});

const CHANNELS = { pan: [128, 128, 128], tower: [128, 128, 128], backbone: [128, 256, 512] };
for (const tap of ['pan', 'tower', 'backbone'] as const) {
  test(`${tap} features equal the graph executor's values of the same nodes on a photograph (any size)`, async () => {
    const features = await NanoDetFeatures.open('models/coco', tap);
    const names = findTaps(artifacts.topology.node, shapeOf, 124, tap);
    const side = 416;
    const d = await decodeToInput(readFileSync('test/fixtures/astronaut.jpg'), { width: side, height: side }, undefined, 'center', 0);
    const mine = features.extract(d.pixels, 1, side);
    const x = nanodetInput(d.pixels, 1, side, MEAN_STD);
    const ref = tf.tidy(() => (graph.execute(tf.transpose(x, [0, 3, 1, 2]), names) as tf.Tensor[]).map((t) => tf.transpose(t, [0, 2, 3, 1])));
    try {
      const [c8, c16, c32] = CHANNELS[tap];
      assert.deepEqual(features.channels, CHANNELS[tap]);
      assert.deepEqual(mine.map((t) => t.shape), [[1, 52, 52, c8], [1, 26, 26, c16], [1, 13, 13, c32]]);
      for (const r of ref) {
        const m = mine.find((t) => t.shape.join() === r.shape.join());
        assert.ok(m, `no tapped map of shape ${r.shape.join('×')}`);
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(m, r))).dataSync()[0]);
        const scale = tf.tidy(() => tf.max(tf.abs(r)).dataSync()[0]);
        assert.ok(scale > 0.5, `${tap} map is nearly empty (max ${scale})`);
        assert.ok(diff < 1e-3, `${tap} ${r.shape.join('×')}: max |Δ| ${diff}`);
      }
      // Kestrel's pass is not pinned to 416: a 128² scene upsampled to 256 gives 32², 16², 8² maps.
      const small = features.extract(new Uint8Array(2 * 256 * 256 * 3).fill(90), 2, 256);
      assert.deepEqual(small.map((t) => t.shape), [[2, 32, 32, c8], [2, 16, 16, c16], [2, 8, 8, c32]]);
      tf.dispose(small);
    } finally {
      tf.dispose([x, ...mine, ...ref]);
      features.dispose();
    }
  });
}
