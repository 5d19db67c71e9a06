// Fine-tuning NanoDet's backbone stages: a stage read back from the graph and rebuilt as kestrel layers with
// NanoDet's weights gives the stage's own output from its entry, so training starts exactly where the frozen
// backbone was.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initBackend, tf } from '../../../src/runtime/backend.js';
import { NanoDetFeatures } from '../../../src/vision/nanodet/features.js';
import { cspStageTail, loadCspWeights, readCspStage } from '../../../src/vision/nanodet/csp-stage.js';
import { openGraphModel, readGraphArtifacts } from '../../../src/vision/nanodet/graph.js';
import { findTaps } from '../../../src/vision/nanodet/features.js';
import { decodeToInput } from '../../../src/vision/image.js';

let whole: NanoDetFeatures;
let pixels: Uint8Array | Float32Array;
const SIDE = 192;

before(async () => {
  await initBackend('wasm');
  whole = await NanoDetFeatures.open('models/coco', 'backbone');
  pixels = (await decodeToInput(readFileSync('test/fixtures/astronaut.jpg'), { width: SIDE, height: SIDE }, undefined, 'center', 0)).pixels;
});
after(() => whole.dispose());

for (const tuned of [[8], [16, 32]]) {
  test(`stages at stride ${tuned.join(' and ')} rebuilt as layers with NanoDet's weights give the frozen stage outputs`, async () => {
    const cut = await NanoDetFeatures.open('models/coco', 'backbone', tuned);
    const full = whole.extract(pixels, 1, SIDE);
    const entries = cut.extract(pixels, 1, SIDE);
    try {
      assert.deepEqual(cut.stages.map((s) => s.spec.stride), tuned);
      [8, 16, 32].forEach((s, i) => {
        const stage = cut.stages.find((st) => st.spec.stride === s);
        // Untuned maps are unchanged; tuned ones are the entry: half the stage's channels, same grid.
        if (!stage) return assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(full[i], entries[i]))).dataSync()[0]), 0);
        assert.deepEqual(entries[i].shape, [1, SIDE / s, SIDE / s, full[i].shape[3] / 2]);
        assert.equal(stage.spec.channels, full[i].shape[3] / 2);
        const input = tf.input({ shape: [null, null, stage.spec.channels] });
        const model = tf.model({ inputs: input, outputs: cspStageTail(input, stage.spec, `t${s}`) });
        loadCspWeights(model, stage, `t${s}`);
        const out = model.predict(entries[i]) as tf.Tensor;
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(out, full[i]))).dataSync()[0]);
        const scale = tf.tidy(() => tf.max(tf.abs(full[i])).dataSync()[0]);
        tf.dispose(out);
        model.dispose();
        assert.ok(scale > 0.5, `stride-${s} map is nearly empty`);
        assert.ok(diff < 1e-3 * scale, `stride ${s}: max |Δ| ${diff} of ${scale}`);
      });
      assert.deepEqual(cut.stages.map((s) => s.spec.blocks), tuned.map((s) => (s === 32 ? 3 : 2)));
    } finally {
      tf.dispose([...full, ...entries]);
      cut.dispose();
    }
  });
}

test('a node that is not a CSP stage is refused, not guessed at', async () => {
  const artifacts = await readGraphArtifacts('models/coco/nanodet.json');
  const graph = await openGraphModel(artifacts);
  try {
    const pan = findTaps(artifacts.topology.node, (n) => graph.weights[n]?.[0]?.shape, 124, 'pan');
    assert.throws(() => readCspStage(artifacts.topology.node, (n) => graph.weights[n]?.[0], pan[0], 8), /not a CSP stage kestrel can fine-tune/);
    await assert.rejects(NanoDetFeatures.open('models/coco', 'pan', [8]), /'backbone' tap only/);
  } finally {
    graph.dispose();
  }
});
