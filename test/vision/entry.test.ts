// The package entry exports the post-processing library: `import { iou, nms, softNms,
// evaluateDetections } from 'kestrel'`. The source entry is checked always; the built one (the
// package's self-reference, which resolves through package.json "exports" to dist/) when a build
// newer than the source entry exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NAMES = ['iou', 'giou', 'iouMatrix', 'convertBoxes', 'nms', 'batchedNms', 'softNms', 'postprocess', 'evaluateDetections', 'readEvaluationFolders', 'plotPrCurves'];

test('src/index.ts exports the post-processing functions, and package.json maps "kestrel" to its build', async () => {
  const mod = (await import('../../src/index.js')) as Record<string, unknown>;
  for (const n of NAMES) assert.equal(typeof mod[n], 'function', n);
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  assert.equal(pkg.name, 'kestrel');
  assert.equal(pkg.exports['.'].import, './dist/src/index.js'); // tsc: rootDir "." → dist/src/index.js
});

const built = path.join(repoRoot, 'dist', 'src', 'index.js');
const fresh = existsSync(built) && statSync(built).mtimeMs >= statSync(path.join(repoRoot, 'src', 'index.ts')).mtimeMs;

test("import { iou, nms, softNms, evaluateDetections } from 'kestrel' (built package)", { skip: fresh ? false : 'no current build in dist/ (run npm run build to include this check)' }, async () => {
  const mod = (await import('kestrel' as string)) as Record<string, (...a: unknown[]) => unknown>;
  for (const n of NAMES) assert.equal(typeof mod[n], 'function', n);
  assert.equal(mod.iou([0, 0, 10, 10], [5, 0, 15, 10]), 1 / 3);
  const kept = mod.nms(Float32Array.from([0, 0, 10, 10, 1, 1, 10, 10]), Float32Array.from([0.9, 0.8])) as Int32Array;
  assert.deepEqual(Array.from(kept), [0]);
});
