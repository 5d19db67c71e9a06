// Face inputs are floats (pad-square-bilinear): the worker pool must carry them to its threads as floats,
// batch them with each other and give every request exactly what the in-process engine gives.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../../src/runtime/backend.js';
import type { DetectorModel } from '../../../src/runtime/models.js';
import type { Candidates } from '../../../src/vision/candidates.js';
import { InProcessEngine } from '../../../src/server/inference.js';
import { WorkerEngine } from '../../../src/server/worker-engine.js';
import { decodeToInput } from '../../../src/vision/image.js';
import { MODEL_DIR, loadFacesModel, nonSquarePhotographs } from './peer-helpers.js';

let model: DetectorModel;

before(async () => {
  await initBackend();
  model = await loadFacesModel();
});

after(() => model?.dispose());

const plain = (c: Candidates) => ({ boxes: Array.from(c.boxes), scores: Array.from(c.scores) });

test('the worker pool carries float pixels as floats and batches them like the in-process engine', async () => {
  const head = 'yolo';
  const size = model.headInputSize!(head);
  const photos = (await nonSquarePhotographs()).filter((p) => p.image).slice(0, 2);
  const decoded = await Promise.all(photos.map((p) => decodeToInput(p.image!, size, undefined, model.letterboxAlign, model.letterboxFill, model.inputResize)));
  const [a, b] = decoded.map((d) => d.pixels);
  assert.ok(a instanceof Float32Array && b instanceof Float32Array);
  const both = new Float32Array(a.length * 2);
  both.set(a);
  both.set(b, a.length);
  const local = new InProcessEngine();
  // A wide batching window so the two requests surely share one forward pass even on a loaded machine.
  const pool = await WorkerEngine.start({ workers: 1, models: [{ model, dir: MODEL_DIR }], warmup: false, batchMax: 8, batchWaitMs: 300 });
  try {
    const ref = await local.detect({ model, head, pixels: both, batch: 2, inputSize: size, scoreThreshold: 0.05 });
    const got = await Promise.all([a, b].map((pixels) => pool.detect({ model, head, pixels, batch: 1, inputSize: size, scoreThreshold: 0.05 })));
    assert.equal(pool.stats().batches, 1, 'the two requests ran as one batch');
    assert.ok(ref[0].scores.length > 0 && ref[1].scores.length > 0, 'the reference finds candidates in both photos');
    assert.deepEqual(got.map((g) => plain(g[0])), ref.map(plain));
    // Rounded to bytes the same photo gives other scores, so equality above means the floats arrived whole.
    const [bytes] = await pool.detect({ model, head, pixels: Uint8Array.from(a, Math.round), batch: 1, inputSize: size, scoreThreshold: 0.05 });
    assert.notDeepEqual(plain(bytes).scores, plain(ref[0]).scores);
  } finally {
    await pool.close();
    await local.close();
  }
});
