import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allPointAp, elevenPointAp, evaluateDetections, type DetectionBox, type GroundTruthBox } from '../../../src/vision/eval/map.js';
import { parseBoxFile, BoxFileError } from '../../../src/vision/eval/files.js';
import { prCurvesSvg } from '../../../src/vision/eval/plot.js';

const close = (a: number, b: number, eps = 1e-9): void => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);
const gt = (image: string, label: string, box: [number, number, number, number], difficult?: boolean): GroundTruthBox => ({ image, label, box, difficult });
const det = (image: string, label: string, score: number, box: [number, number, number, number]): DetectionBox => ({ image, label, score, box });

test('allPointAp and elevenPointAp on a hand-worked curve', () => {
  // TP, FP, TP with 4 positives: recall .25 .25 .5, precision 1 .5 .667.
  const rec = [0.25, 0.25, 0.5];
  const prec = [1, 0.5, 2 / 3];
  // Envelope: 1 up to recall .25, 2/3 up to .5, 0 after.
  close(allPointAp(rec, prec), 0.25 * 1 + 0.25 * (2 / 3));
  // r = 0, .1, .2 → 1; r = .3 (0.30000000000000004), .4, .5 → 2/3; rest 0.
  close(elevenPointAp(rec, prec), (3 * 1 + 3 * (2 / 3)) / 11);
  // Recall exactly 0.3 does not reach the 0.3 point (k·0.1 in double precision, as the reference tools).
  close(elevenPointAp([0.3], [1]), 3 / 11);
  assert.equal(allPointAp([], []), 0);
});

test('VOC matching: duplicates are false positives, best-IoU box is taken, difficult boxes ignored', () => {
  const g = [gt('a', 'cat', [0, 0, 10, 10]), gt('a', 'cat', [20, 0, 30, 10]), gt('b', 'cat', [0, 0, 10, 10], true)];
  const d = [
    det('a', 'cat', 0.9, [0, 0, 10, 10]), // TP
    det('a', 'cat', 0.8, [1, 0, 11, 10]), // duplicate of the first → FP
    det('b', 'cat', 0.7, [0, 0, 10, 10]), // on a difficult box → ignored
    det('a', 'cat', 0.6, [21, 0, 31, 10]), // TP
    det('c', 'cat', 0.5, [0, 0, 10, 10]), // image without ground truth → FP
  ];
  const r = evaluateDetections(g, d, { coco: false }).perClass.cat;
  assert.equal(r.npos, 2);
  assert.equal(r.tp, 2);
  assert.equal(r.fp, 2);
  assert.deepEqual(r.recall, [0.5, 0.5, 1, 1]);
  assert.deepEqual(r.precision, [1, 0.5, 2 / 3, 0.5]);
  close(r.ap, 0.5 + 0.5 * (2 / 3));
});

test('IoU threshold is inclusive and pixelInclusive changes which boxes match', () => {
  const g = [gt('a', 'x', [0, 0, 10, 10])];
  const d = [det('a', 'x', 0.9, [5, 0, 15, 10])]; // IoU 1/3 continuous; 55/165 = 1/3 inclusive too
  assert.equal(evaluateDetections(g, d, { iouThreshold: 1 / 3, coco: false }).perClass.x.tp, 1);
  const d2 = [det('a', 'x', 0.9, [0, 0, 9, 9])]; // continuous IoU .81; inclusive 100/121 = .826
  assert.equal(evaluateDetections(g, d2, { iouThreshold: 0.82, coco: false }).perClass.x.tp, 0);
  assert.equal(evaluateDetections(g, d2, { iouThreshold: 0.82, pixelInclusive: true, coco: false }).perClass.x.tp, 1);
});

test('perfect detections score 1 everywhere; classes are averaged', () => {
  const g = [gt('a', 'cat', [0, 0, 50, 50]), gt('a', 'dog', [100, 100, 300, 300]), gt('b', 'cat', [5, 5, 20, 20])];
  const d = g.map((x, i) => det(x.image, x.label, 0.5 + i / 10, [...x.box]));
  const r = evaluateDetections(g, d);
  assert.deepEqual(r.classes, ['cat', 'dog']);
  assert.equal(r.mAP, 1);
  assert.equal(r.ap11, 1);
  close(r.coco!.ap, 1);
  close(r.coco!.ar100, 1);
  close(r.coco!.apSmall, 1); // the 15x15 cat
  close(r.coco!.apLarge, 1); // the 200x200 dog
  assert.equal(r.perClass.dog.coco!.apSmall, NaN); // no small dogs: undefined, not 0
});

test('COCO: AP over IoU .50:.95 counts the thresholds a match clears; AR@1 vs AR@10', () => {
  // One box, one detection at IoU 0.72: matched for .50 .55 .60 .65 .70, not from .75 on.
  const g = [gt('a', 'x', [0, 0, 100, 100])];
  const d = [det('a', 'x', 0.9, [0, 0, 100, 72])];
  const r = evaluateDetections(g, d).coco!;
  close(r.ap, 0.5);
  close(r.ap50, 1);
  assert.equal(r.ap75, 0);
  close(r.ar100, 0.5);
  // Two objects, two exact detections in one image: one detection per image recalls half.
  const g2 = [gt('a', 'x', [0, 0, 100, 100]), gt('a', 'x', [200, 0, 300, 100])];
  const d2 = [det('a', 'x', 0.9, [0, 0, 100, 100]), det('a', 'x', 0.8, [200, 0, 300, 100])];
  const r2 = evaluateDetections(g2, d2).coco!;
  close(r2.ar1, 0.5);
  close(r2.ar10, 1);
  // Wrong-place detection ranked first: precision 1/2 at full recall → 101-point AP 0.5.
  const d3 = [det('a', 'x', 0.95, [500, 500, 600, 600]), det('a', 'x', 0.9, [0, 0, 100, 100])];
  close(evaluateDetections([g2[0]], d3).coco!.ap50, 0.5);
});

test('a class only in detections is all false positives and stays out of the mean; no ground truth gives 0 with a warning', () => {
  const g = [gt('a', 'cat', [0, 0, 10, 10])];
  const d = [det('a', 'cat', 0.9, [0, 0, 10, 10]), det('a', 'unicorn', 0.8, [0, 0, 10, 10]), det('b', 'unicorn', 0.7, [0, 0, 5, 5])];
  const r = evaluateDetections(g, d);
  assert.equal(r.mAP, 1);
  assert.deepEqual(r.classes, ['cat']);
  assert.equal(r.perClass.unicorn.fp, 2);
  assert.equal(r.perClass.unicorn.tp, 0);
  assert.equal(r.perClass.unicorn.ap, 0);
  assert.ok(r.warnings.some((w) => w.includes('unicorn')));
  const empty = evaluateDetections([], []);
  assert.equal(empty.mAP, 0);
  assert.ok(empty.warnings.length > 0);
  assert.throws(() => evaluateDetections(g, d, { iouThreshold: 2 }), /iouThreshold/);
});

test('parseBoxFile: formats, comments, and errors that name file and line', () => {
  assert.deepEqual(parseBoxFile('# header\n\ncat 10 20 30 40\n', 'g.txt', 'gt'), [{ label: 'cat', box: [10, 20, 40, 60] }]);
  assert.deepEqual(parseBoxFile('cat 0.5 10 20 30 40', 'd.txt', 'det', { format: 'xyxy' }), [{ label: 'cat', score: 0.5, box: [10, 20, 30, 40] }]);
  assert.deepEqual(parseBoxFile('3 0.5 0.5 0.2 0.4', 'y.txt', 'gt', { format: 'yolo', imageSize: { width: 100, height: 50 } }), [{ label: '3', box: [40, 15, 60, 35] }]);
  const cases: [string, 'gt' | 'det', RegExp][] = [
    ['cat 1 2 3\n', 'gt', /g\.txt:1: expected 5 fields/],
    ['cat 1 2 3 4\ncat 0.9 1 2 x 4\n', 'det', /g\.txt:1: expected 6 fields/],
    ['\n\ncat 0.9 1 2 nan 4\n', 'det', /g\.txt:3: field 5 "nan" is not a finite number/],
    ['cat 1 2 -3 4\n', 'gt', /g\.txt:1: negative width/],
    ['cat 1e999 2 3 4\n', 'gt', /not a finite number/],
  ];
  for (const [text, kind, re] of cases) {
    assert.throws(() => parseBoxFile(text, 'g.txt', kind), (e: unknown) => e instanceof BoxFileError && re.test(e.message));
  }
  assert.throws(() => parseBoxFile('cat 5 5 1 1', 'g.txt', 'gt', { format: 'xyxy' }), /g\.txt:1: right\/bottom/);
  assert.throws(() => parseBoxFile('cat 0.5 0.5 0.1 0.1', 'g.txt', 'gt', { format: 'yolo' }), /g\.txt:1: yolo class/);
});

test('PR-curve SVG has one path per class with detections and escapes labels', () => {
  const g = [gt('a', 'a<b', [0, 0, 10, 10]), gt('a', 'c', [0, 0, 10, 10])];
  const d = [det('a', 'a<b', 0.9, [0, 0, 10, 10])];
  const svg = prCurvesSvg(evaluateDetections(g, d));
  assert.equal((svg.match(/<path /g) ?? []).length, 1);
  assert.ok(svg.includes('a&#60;b'));
  assert.ok(!svg.includes('a<b'));
});
