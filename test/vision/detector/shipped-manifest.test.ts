// The shipped kestrel-fmnist manifest lost the region classifier's rejected experiments (mirror, ensemble)
// when they left the schema; a manifest that still carries them at their old defaults must load and answer
// exactly as the shipped one does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../../src/runtime/backend.js';
import { readManifest } from '../../../src/runtime/registry.js';
import { loadKestrelDetector } from '../../../src/vision/detector/loader.js';
import type { DetectorModel } from '../../../src/runtime/models.js';
import { DEFAULT_SCENE, renderScene } from '../../../src/vision/datasets/scenes.js';
import { fakeFmnist } from '../datasets/fake-fmnist.js';

const MODEL = join('models', 'kestrel-fmnist');

test('kestrel-fmnist: a manifest with the former mirror/ensemble defaults answers exactly as the shipped one, region classifier on', async () => {
  await initBackend();
  const dir = await mkdtemp(join(tmpdir(), 'kestrel-manifest-'));
  const open = async (d: string) => (await loadKestrelDetector(await readManifest(d), d)) as DetectorModel;
  try {
    await cp(MODEL, dir, { recursive: true });
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { config: { regionClassifier: Record<string, unknown> } };
    assert.equal('mirror' in m.config.regionClassifier || 'ensemble' in m.config.regionClassifier, false);
    m.config.regionClassifier.mirror = false;
    m.config.regionClassifier.ensemble = [];
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(m));
    const [shipped, old] = [await open(MODEL), await open(dir)];
    try {
      assert.ok(shipped.hasRegionClassifier);
      const S = shipped.inputSize.width;
      const items = fakeFmnist(40);
      const pool = Int32Array.from({ length: items.count }, (_, i) => i);
      const pixels = new Uint8Array(2 * S * S * 3);
      for (let b = 0; b < 2; b++) pixels.set(renderScene(items, pool, 1, 'manifest', b, { ...DEFAULT_SCENE, size: S, minObjects: 2 }).rgb, b * S * S * 3);
      for (const head of shipped.heads) {
        const a = await shipped.predict(pixels, 2, head, { regionClassifier: true, scoreThreshold: 0.05 });
        const b = await old.predict(pixels, 2, head, { regionClassifier: true, scoreThreshold: 0.05 });
        assert.deepEqual(b, a, head);
        assert.ok(a.some((c) => c.scores.length > 0), `${head} gives candidates to compare`);
      }
    } finally {
      shipped.dispose();
      old.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
