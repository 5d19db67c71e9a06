import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { run } from '../../src/cli/eval-map.js';
import { main } from '../../src/cli.js';

const root = mkdtempSync(path.join(tmpdir(), 'kestrel-evalmap-'));
after(() => rmSync(root, { recursive: true, force: true }));

function folders(name: string, gt: Record<string, string>, det: Record<string, string>): { gt: string; det: string } {
  const g = path.join(root, name, 'gt');
  const d = path.join(root, name, 'det');
  mkdirSync(g, { recursive: true });
  mkdirSync(d, { recursive: true });
  for (const [f, t] of Object.entries(gt)) writeFileSync(path.join(g, f), t);
  for (const [f, t] of Object.entries(det)) writeFileSync(path.join(d, f), t);
  return { gt: g, det: d };
}

/** Runs the command in-process, capturing what it prints. */
async function cli(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log, error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  try {
    const code = await fn();
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const basic = () =>
  folders(
    'basic',
    { 'img1.txt': 'cat 0 0 10 10\ndog 20 20 10 10\n', 'img2.txt': 'cat 5 5 10 10\n' },
    { 'img1.txt': 'cat 0.9 0 0 10 10\ndog 0.8 40 40 10 10\ncat 0.3 50 50 5 5\n', 'img2.txt': 'cat 0.7 5 5 10 10\n' },
  );

test('eval map --json prints exactly {mAP, ap11, perClass{ap, ap11, precision, recall, tp, fp, npos}}', async () => {
  const f = basic();
  const r = await cli(() => run(['--gt', f.gt, '--det', f.det, '--json']));
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(Object.keys(j), ['mAP', 'ap11', 'perClass']);
  assert.deepEqual(Object.keys(j.perClass).sort(), ['cat', 'dog']);
  for (const c of Object.values(j.perClass) as Record<string, unknown>[]) {
    assert.deepEqual(Object.keys(c), ['ap', 'ap11', 'precision', 'recall', 'tp', 'fp', 'npos']);
  }
  // cat: TP .9, TP .7, FP .3 with 2 positives → AP 1; dog: one FP → AP 0.
  assert.deepEqual(j.perClass.cat, { ap: 1, ap11: 1, precision: [1, 1, 2 / 3], recall: [0.5, 1, 1], tp: 2, fp: 1, npos: 2 });
  assert.equal(j.perClass.dog.ap, 0);
  assert.equal(j.mAP, 0.5);
  assert.ok(j.mAP >= 0 && j.mAP <= 1);
});

test('eval map table output, --coco, and --plot writes a PNG', async () => {
  const f = basic();
  const png = path.join(root, 'pr.png');
  const r = await cli(() => run(['--gt', f.gt, '--det', f.det, '--coco', '--plot', png]));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^class/m);
  assert.match(r.out, /^mAP\s+50\.00/m);
  assert.match(r.out, /AP@\[\.50:\.95\]/);
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.ok((meta.width ?? 0) > 100);
  const j = await cli(() => run(['--gt', f.gt, '--det', f.det, '--coco', '--json']));
  assert.deepEqual(Object.keys(JSON.parse(j.out)), ['mAP', 'ap11', 'perClass', 'coco']);
});

test('a malformed line is an error naming the file and line', async () => {
  const f = folders('bad', { 'a.txt': 'cat 0 0 10 10\n' }, { 'a.txt': 'cat 0.9 0 0 10 10\n\ncat 0.8 0 zero 10 10\n' });
  const r = await cli(() => run(['--gt', f.gt, '--det', f.det, '--json']));
  assert.equal(r.code, 1);
  assert.ok(r.err.includes(`${path.join(f.det, 'a.txt')}:3:`), r.err);
  assert.equal(r.out, '');
});

test('a detection class absent from the ground truth counts as false positives, with a warning (and so does a detection file without ground truth)', async () => {
  const f = folders('unknown', { 'a.txt': 'cat 0 0 10 10\n' }, { 'a.txt': 'cat 0.9 0 0 10 10\nzebra 0.95 0 0 10 10\nzebra 0.5 30 30 10 10\n', 'b.txt': 'cat 0.2 0 0 10 10\n' });
  const r = await cli(() => run(['--gt', f.gt, '--det', f.det, '--json']));
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.perClass.zebra.fp, 2);
  assert.equal(j.perClass.zebra.tp, 0);
  assert.equal(j.perClass.zebra.npos, 0);
  // b.txt has no ground-truth file: an image without objects, so its cat is a false positive.
  assert.equal(j.perClass.cat.fp, 1);
  assert.equal(j.mAP, 1);
  assert.match(r.err, /warning: .*zebra/);
  assert.match(r.err, /warning: 1 detection file\(s\) without ground truth/);
});

test('empty folders give mAP 0 and a warning', async () => {
  const f = folders('empty', {}, {});
  const r = await cli(() => run(['--gt', f.gt, '--det', f.det, '--json']));
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.out), { mAP: 0, ap11: 0, perClass: {} });
  assert.match(r.err, /warning:/);
});

test('xyxy and yolo formats give the same result as the xywh files they encode', async () => {
  const x = folders('xyxy', { 'a.txt': 'cat 10 20 30 60\n' }, { 'a.txt': 'cat 0.9 12 20 30 60\n' });
  const w = folders('xywh', { 'a.txt': 'cat 10 20 20 40\n' }, { 'a.txt': 'cat 0.9 12 20 18 40\n' });
  const y = folders('yolo', { 'a.txt': '0 0.2 0.4 0.2 0.4\n' }, { 'a.txt': '0 0.9 0.21 0.4 0.18 0.4\n' });
  const rx = JSON.parse((await cli(() => run(['--gt', x.gt, '--det', x.det, '--format', 'xyxy', '--iou', '0.9', '--json']))).out);
  const rw = JSON.parse((await cli(() => run(['--gt', w.gt, '--det', w.det, '--iou', '0.9', '--json']))).out);
  const ry = JSON.parse((await cli(() => run(['--gt', y.gt, '--det', y.det, '--format', 'yolo', '--image-size', '100x100', '--iou', '0.89', '--json']))).out);
  assert.equal(rx.perClass.cat.tp, 1); // IoU 0.9 exactly: inclusive threshold
  assert.equal(rw.perClass.cat.tp, 1);
  assert.equal(ry.perClass['0'].tp, 1); // normalized fractions: IoU 0.9 up to rounding
});

test('usage errors exit 2; --help exits 0; the command is registered as "eval map"', async () => {
  assert.equal((await cli(() => run([]))).code, 2);
  assert.equal((await cli(() => run(['--gt', root, '--det', root, '--iou', '1.5']))).code, 2);
  assert.equal((await cli(() => run(['--gt', root, '--det', root, '--iou', '']))).code, 2);
  assert.equal((await cli(() => run(['--gt', root, '--det', root, '--iou', '0.5x']))).code, 2);
  assert.equal((await cli(() => run(['--gt', root, '--det', root, '--format', 'coco']))).code, 2);
  assert.equal((await cli(() => run(['--gt', path.join(root, 'nope'), '--det', root]))).code, 2);
  const bogus = await cli(() => main(['eval', 'map', '--bogus']));
  assert.equal(bogus.code, 2);
  assert.match(bogus.err, /^kestrel eval map: unknown option --bogus\n\nusage: kestrel eval map/);
  const h = await cli(() => main(['eval', 'map', '--help']));
  assert.equal(h.code, 0);
  assert.match(h.out, /kestrel eval map --gt DIR --det DIR/);
});
