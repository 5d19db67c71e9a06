import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseLabels, readYoloSplit, readClassNames, DatasetError } from '../../../src/vision/datasets/yolo-layout.js';
import { writeScenes, renderScene } from '../../../src/vision/datasets/scenes.js';
import { fakeFmnist } from './fake-fmnist.js';

test('label parser names file and line of each kind of bad label', () => {
  assert.deepEqual(parseLabels('0 0.5 0.5 0.2 0.2\n\n# comment\n3 0.1 0.1 0.1 0.1\n', 'a.txt', 10).map((b) => b.classId), [0, 3]);
  const bad: [string, RegExp][] = [
    ['0 0.5 0.5 0.2\n', /^b\.txt:1: expected "classId cx cy w h", got 4 fields/],
    ['0 0.5 0.5 0.2 0.2\n12 0.5 0.5 0.2 0.2\n', /^b\.txt:2: class id 12 outside 0\.\.9/],
    ['0 0.5 0.5 0.2 0.2\n\n1 0.5 x 0.2 0.2\n', /^b\.txt:3: not a number/],
    ['1.5 0.5 0.5 0.2 0.2\n', /^b\.txt:1: class id 1\.5/],
    ['1 0.5 0.5 0 0.2\n', /^b\.txt:1: box width and height must be positive/],
    ['1 0.95 0.5 0.2 0.2\n', /^b\.txt:1: box lies outside the image/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseLabels(text, 'b.txt', 10), (e: unknown) => e instanceof DatasetError && re.test(e.message));
});

test('dataset reader: class names from classes.txt or data.yaml, missing folders and bad labels reported with paths', async () => {
  const root = await mkdtemp(join(tmpdir(), 'kestrel-ds-'));
  try {
    await assert.rejects(readClassNames(root), /no classes\.txt or data\.yaml/);
    await writeFile(join(root, 'data.yaml'), 'path: .\nnames:\n  - cat\n  - dog\n');
    assert.deepEqual(await readClassNames(root), ['cat', 'dog']);
    await writeFile(join(root, 'data.yaml'), "names: ['cat', 'dog', 'eel']\n");
    assert.deepEqual(await readClassNames(root), ['cat', 'dog', 'eel']);
    await assert.rejects(readYoloSplit(root, 'train'), /images[/\\]train \(or .*train[/\\]images\): no such split folder/);
    await mkdir(join(root, 'images', 'train'), { recursive: true });
    await mkdir(join(root, 'labels', 'train'), { recursive: true });
    await writeFile(join(root, 'images', 'train', 'a.png'), '');
    await writeFile(join(root, 'images', 'train', 'b.png'), '');
    await writeFile(join(root, 'labels', 'train', 'a.txt'), '1 0.5 0.5 0.5 0.5\n');
    const ds = await readYoloSplit(root, 'train');
    assert.equal(ds.items.length, 2);
    assert.equal(ds.items[1].boxes.length, 0, 'a missing label file means no objects');
    await writeFile(join(root, 'labels', 'train', 'b.txt'), '0 0.5 0.5 0.5 0.5\n5 0.5 0.5 0.5 0.5\n');
    await assert.rejects(readYoloSplit(root, 'train'), /labels[/\\]train[/\\]b\.txt:2: class id 5 outside 0\.\.2/);
    // Roboflow's export puts each split's images and labels under the split's own folder.
    await mkdir(join(root, 'valid', 'images'), { recursive: true });
    await mkdir(join(root, 'valid', 'labels'), { recursive: true });
    await writeFile(join(root, 'valid', 'images', 'c.jpg'), '');
    await writeFile(join(root, 'valid', 'labels', 'c.txt'), '2 0.25 0.25 0.5 0.5\n');
    const valid = await readYoloSplit(root, 'valid');
    assert.deepEqual(valid.items.map((i) => [i.image, i.label, i.boxes[0].classId]), [[join(root, 'valid', 'images', 'c.jpg'), join(root, 'valid', 'labels', 'c.txt'), 2]]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

async function hashTree(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else h.update(p.slice(dir.length)).update(await readFile(p));
    }
  };
  await walk(dir);
  return h.digest('hex');
}

test('scenes: same seed gives byte-identical files, another seed different ones; boxes tight and in range', async () => {
  const src = fakeFmnist(40);
  const [a, b, c] = await Promise.all([0, 1, 2].map(() => mkdtemp(join(tmpdir(), 'kestrel-scenes-'))));
  try {
    const plan = { seed: 5, size: 64, counts: { train: 6, val: 2, test: 2 } };
    await writeScenes(src, src, a, plan);
    await writeScenes(src, src, b, plan);
    await writeScenes(src, src, c, { ...plan, seed: 6 });
    assert.equal(await hashTree(a), await hashTree(b));
    assert.notEqual(await hashTree(a), await hashTree(c));
    const ds = await readYoloSplit(a, 'train');
    assert.equal(ds.items.length, 6);
    assert.equal(ds.classes.length, 10);
    // Tightness: every labelled box's border rows/columns contain item pixels, which differ from a plain background render.
    const pool = Int32Array.from({ length: 40 }, (_, i) => i);
    let objects = 0;
    for (let i = 0; i < 20; i++) {
      const { objects: objs } = renderScene(src, pool, 5, 'train', i, { size: 64, minObjects: 1, maxObjects: 4, minSide: 12, maxSide: 40, maxOverlap: 0.2 });
      for (const o of objs) {
        objects++;
        assert.ok(o.x1 >= 0 && o.y1 >= 0 && o.x2 <= 64 && o.y2 <= 64 && o.x2 > o.x1 && o.y2 > o.y1);
        const side = Math.max(o.x2 - o.x1, o.y2 - o.y1);
        assert.ok(side >= 10 && side <= 41, `longest side ${side}`);
      }
    }
    assert.ok(objects >= 20);
  } finally {
    await Promise.all([a, b, c].map((d) => rm(d, { recursive: true, force: true })));
  }
});
