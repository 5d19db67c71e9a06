// The shipped detector's region classifier on real Fashion-MNIST t10k items (Debian's dataset-fashion-mnist,
// which .ci/run installs): its crops, weights and readout together must still name them as measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, tf } from '../../../src/runtime/backend.js';
import { loadFmnist } from '../../../src/vision/datasets/fmnist.js';
import { diskLoader } from '../../../src/vision/detector/weights-io.js';
import { regionClassifierSchema } from '../../../src/vision/region-classifier/config.js';
import { regionAccuracy, renderExamples } from '../../../src/vision/region-classifier/train.js';
import '../../../src/vision/backbone/fast-conv.js';
import '../../../src/vision/backbone/batch-norm.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const MODEL = join('models', 'kestrel-fmnist');

test('shipped kestrel-fmnist region classifier: names ≥ 87 % of 1,000 rendered t10k items (exact boxes)', async (t) => {
  if (!existsSync(FMNIST)) return t.skip(`${FMNIST} is not installed (Debian package dataset-fashion-mnist)`);
  await initBackend();
  const manifest = JSON.parse(readFileSync(join(MODEL, 'manifest.json'), 'utf8')) as { config: { regionClassifier: unknown } };
  const cfg = regionClassifierSchema.parse(manifest.config.regionClassifier);
  const net = await tf.loadLayersModel(diskLoader(join(MODEL, cfg.dir)));
  try {
    const test10k = await loadFmnist(FMNIST, 't10k');
    const { ex } = renderExamples(test10k, 1, 'region-test', 0, 1000, 0, false);
    const acc = await regionAccuracy(net, ex, cfg, 10);
    t.diagnostic(`accuracy ${(100 * acc.all).toFixed(1)} % (small ${(100 * acc.small).toFixed(1)} %, medium ${(100 * acc.medium).toFixed(1)} %)`);
    assert.equal(acc.count, 1000);
    assert.ok(acc.all >= 0.87, `accuracy ${acc.all}`);
  } finally {
    net.dispose();
  }
});
