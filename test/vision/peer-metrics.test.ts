// Reproduces the published figures of the Object-Detection-Metrics project on its sample files, when
// the team's shared folder is present (../shared next to the repository; KESTREL_SHARED_DIR
// overrides). A fresh clone has no such folder: the test then skips and says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEvaluationFolders } from '../../src/vision/eval/files.js';
import { evaluateDetections } from '../../src/vision/eval/map.js';
import { run } from '../../src/cli/eval-map.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const shared = process.env.KESTREL_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared');
const peer = path.join(shared, 'peer', 'object-detection-metrics');
const present = existsSync(path.join(peer, 'groundtruths')) && existsSync(path.join(peer, 'detections'));
const skip = present ? false : `peer data not found at ${peer} (set KESTREL_SHARED_DIR or place shared/ beside the repository)`;

/** Rounded to the peer's two published decimals, in percent. */
const pct = (v: number): number => Math.round(v * 10000) / 100;

test('peer: AP(person) at IoU 0.3 = 24.57 % all-point, 26.84 % 11-point (pixel-inclusive), 22.54 % all-point continuous', { skip }, async () => {
  const f = await readEvaluationFolders(path.join(peer, 'groundtruths'), path.join(peer, 'detections'));
  assert.equal(f.images.length, 7);
  const inclusive = evaluateDetections(f.groundTruth, f.detections, { iouThreshold: 0.3, pixelInclusive: true });
  assert.equal(pct(inclusive.perClass.person.ap), 24.57);
  assert.equal(pct(inclusive.perClass.person.ap11), 26.84);
  const continuous = evaluateDetections(f.groundTruth, f.detections, { iouThreshold: 0.3 });
  assert.equal(pct(continuous.perClass.person.ap), 22.54);
});

test('peer: the CLI prints the same figures as JSON', { skip }, async () => {
  const out: string[] = [];
  const log = console.log;
  console.log = (s: string) => out.push(s);
  try {
    const code = await run(['--gt', path.join(peer, 'groundtruths'), '--det', path.join(peer, 'detections'), '--iou', '0.3', '--pixel-inclusive', '--json']);
    assert.equal(code, 0);
  } finally {
    console.log = log;
  }
  const j = JSON.parse(out.join('\n'));
  assert.equal(pct(j.perClass.person.ap), 24.57);
  assert.equal(pct(j.ap11), 26.84);
});
