// The naive sliding window left the served code for bench/; it must still measure the same classifier
// as the served convolutional head, so on real scenes it finds what that head finds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/runtime/backend.js';
import { iouXyxy } from '../../src/vision/boxes.js';
import type { Candidates } from '../../src/vision/candidates.js';
import { loadFmnist } from '../../src/vision/datasets/fmnist.js';
import { renderScene, DEFAULT_SCENE, type SceneObject } from '../../src/vision/datasets/scenes.js';
import { postprocess } from '../../src/vision/nms.js';
import { openNaive } from '../../bench/naive-sliding-window.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const MODEL = join('models', 'kestrel-fmnist');

/** Objects of the scene that some kept detection of the right class overlaps by IoU ≥ 0.5. */
function found(c: Candidates, objects: SceneObject[]): Set<number> {
  const sel = postprocess(c, { scoreThreshold: 0.3, iouThreshold: 0.5, maxDetections: 100, method: 'hard' });
  const hit = new Set<number>();
  objects.forEach((o, j) => {
    for (const k of sel.indices) {
      const b = c.boxes.subarray(4 * k, 4 * k + 4);
      if (c.classes[k] === o.classId && iouXyxy(b[0], b[1], b[2], b[3], o.x1, o.y1, o.x2, o.y2) >= 0.5) hit.add(j);
    }
  });
  return hit;
}

test('bench naive sliding window: not a served head, and on real scenes it finds the objects the convolutional head finds', async (t) => {
  if (!existsSync(FMNIST)) return t.skip(`${FMNIST} is not installed (Debian package dataset-fashion-mnist)`);
  await initBackend();
  const naive = await openNaive(MODEL);
  try {
    const inner = naive.inner;
    assert.deepEqual(inner.heads.filter((h) => h.includes('naive')), []);
    const t10k = await loadFmnist(FMNIST, 't10k');
    const pool = Int32Array.from({ length: t10k.count }, (_, i) => i);
    let served = 0, both = 0;
    for (let i = 0; i < 4; i++) {
      const { rgb, objects } = renderScene(t10k, pool, 7, 'naive-bench', i, DEFAULT_SCENE);
      const [conv] = await inner.predict(rgb, 1, 'sliding-window', { scoreThreshold: 0.01 });
      const [slow] = await naive.predict(rgb, 1, 'sliding-window-naive', { scoreThreshold: 0.01 });
      const a = found(conv, objects), b = found(slow, objects);
      served += a.size;
      both += [...a].filter((j) => b.has(j)).length;
      t.diagnostic(`scene ${i}: ${objects.length} objects, convolutional finds ${a.size}, naive ${b.size}, both ${[...a].filter((j) => b.has(j)).length}`);
    }
    assert.ok(served >= 4, `the convolutional head finds ${served} objects in 4 scenes`);
    assert.ok(both >= 0.75 * served, `naive finds ${both} of the ${served} objects the convolutional head finds`);
  } finally {
    naive.dispose();
  }
});
