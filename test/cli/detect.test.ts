// kestrel detect runs the service's pipeline: the COCO model's boxes on a real photograph match what was
// checked by eye (and what POST /v1/detect answers), with its speed modes and clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { iou } from '../../src/vision/boxes.js';

function kestrel(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8', env: { ...process.env, KESTREL_BACKEND: 'wasm' }, timeout: 120_000 });
}

interface Row { image: string; width: number; height: number; head: string; detections: { label: string; score: number; box: number[] }[] }

test('kestrel detect --json finds the astronaut where the service does, at the default size and at 320', () => {
  const r = kestrel(['detect', 'test/fixtures/astronaut.jpg', 'test/fixtures/camera.jpg', '--model', 'coco', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const [astro, camera] = JSON.parse(r.stdout) as Row[];
  assert.deepEqual([astro.width, astro.height, astro.head], [512, 512, 'gfl']);
  const person = astro.detections.find((d) => d.label === 'person');
  // The box the service answers for this photograph (test/vision/nanodet/photos.test.ts), as x1 y1 x2 y2.
  assert.ok(person && iou(person.box, [15, 15, 364, 509]) > 0.98, JSON.stringify(astro.detections));
  assert.ok(camera.detections.some((d) => d.label === 'person'));
  const small = kestrel(['detect', 'test/fixtures/astronaut.jpg', '--model', 'coco', '--size', '320', '--json']);
  assert.equal(small.status, 0, small.stderr);
  assert.ok((JSON.parse(small.stdout) as Row[])[0].detections.some((d) => d.label === 'person'));
});

test('kestrel detect: a size the model does not offer and an unreadable file are reported, exit 1', () => {
  const r = kestrel(['detect', 'test/fixtures/astronaut.jpg', 'package.json', '--model', 'coco', '--size', '300']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /320, 416, 512/);
  const bad = kestrel(['detect', 'package.json', '--model', 'coco']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /package\.json: .*not a supported image format/);
});
