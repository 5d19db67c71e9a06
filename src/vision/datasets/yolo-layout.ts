// Reader for the YOLO dataset layout: images/<split>/*.{png,jpg,jpeg,webp}, labels/<split>/<same stem>.txt
// (or Roboflow's <split>/images, <split>/labels)
// with "classId cx cy w h" (normalized) per line, class names in classes.txt (one per line) or data.yaml
// (names: [...] or a "- name" list). Every problem names the file and line.
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, extname, basename } from 'node:path';

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

export interface LabeledBox {
  classId: number;
  /** Normalized centre and size. */
  cx: number; cy: number; w: number; h: number;
}

export interface DatasetItem {
  image: string;
  label: string;
  boxes: LabeledBox[];
}

export interface Dataset {
  root: string;
  split: string;
  classes: string[];
  items: DatasetItem[];
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.webp']);

export async function readClassNames(root: string): Promise<string[]> {
  const txt = join(root, 'classes.txt');
  if (existsSync(txt)) {
    const names = (await readFile(txt, 'utf8')).split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
    if (names.length === 0) throw new DatasetError(`${txt}: no class names`);
    return names;
  }
  const yaml = join(root, 'data.yaml');
  if (existsSync(yaml)) {
    const lines = (await readFile(yaml, 'utf8')).split(/\r?\n/);
    const idx = lines.findIndex((l) => /^names\s*:/.test(l));
    if (idx < 0) throw new DatasetError(`${yaml}: no "names:" entry`);
    const inline = lines[idx].replace(/^names\s*:\s*/, '').trim();
    let names: string[];
    if (inline.startsWith('[')) {
      if (!inline.endsWith(']')) throw new DatasetError(`${yaml}:${idx + 1}: names list must close on the same line`);
      names = inline.slice(1, -1).split(',').map((s) => s.trim().replace(/^['"]|['"]$/g, '')).filter((s) => s.length > 0);
    } else {
      names = [];
      for (let i = idx + 1; i < lines.length; i++) {
        const m = /^\s+(?:-\s*|\d+\s*:\s*)(.+)$/.exec(lines[i]);
        if (!m) break;
        names.push(m[1].trim().replace(/^['"]|['"]$/g, ''));
      }
    }
    if (names.length === 0) throw new DatasetError(`${yaml}:${idx + 1}: empty names`);
    return names;
  }
  throw new DatasetError(`${root}: no classes.txt or data.yaml with class names`);
}

/** Parses one label file's text; numClasses bounds the class ids. */
export function parseLabels(text: string, file: string, numClasses: number): LabeledBox[] {
  const out: LabeledBox[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file}:${i + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length !== 5) throw new DatasetError(`${where}: expected "classId cx cy w h", got ${parts.length} fields`);
    const nums = parts.map(Number);
    if (nums.some((v) => !Number.isFinite(v))) throw new DatasetError(`${where}: not a number in "${line}"`);
    const [c, cx, cy, w, h] = nums;
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new DatasetError(`${where}: class id ${parts[0]} outside 0..${numClasses - 1}`);
    if (w <= 0 || h <= 0) throw new DatasetError(`${where}: box width and height must be positive`);
    const eps = 1e-3;
    if (cx - w / 2 < -eps || cy - h / 2 < -eps || cx + w / 2 > 1 + eps || cy + h / 2 > 1 + eps) {
      throw new DatasetError(`${where}: box lies outside the image (coordinates are normalized to 0..1)`);
    }
    out.push({ classId: c, cx, cy, w, h });
  }
  return out;
}

export async function readYoloSplit(root: string, split: string, opts: { limit?: number } = {}): Promise<Dataset> {
  const classes = await readClassNames(root);
  // Ultralytics' layout (images/train, labels/train) or Roboflow's export (train/images, train/labels).
  const flat = join(root, 'images', split);
  const roboflow = join(root, split, 'images');
  const imgDir = existsSync(flat) || !existsSync(roboflow) ? flat : roboflow;
  const labDir = imgDir === flat ? join(root, 'labels', split) : join(root, split, 'labels');
  if (!existsSync(imgDir)) throw new DatasetError(`${flat} (or ${roboflow}): no such split folder`);
  const files = (await readdir(imgDir)).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort();
  const items: DatasetItem[] = [];
  for (const f of opts.limit ? files.slice(0, opts.limit) : files) {
    const label = join(labDir, `${basename(f, extname(f))}.txt`);
    // A missing label file means "no objects", as in the YOLO convention.
    const boxes = existsSync(label) ? parseLabels(await readFile(label, 'utf8'), label, classes.length) : [];
    items.push({ image: join(imgDir, f), label, boxes });
  }
  if (items.length === 0) throw new DatasetError(`${imgDir}: no images`);
  return { root, split, classes, items };
}
