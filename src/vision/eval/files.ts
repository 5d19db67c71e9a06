// Reading the one-text-file-per-image layout used by `kestrel eval map` (and by the widely used
// Object-Detection-Metrics tool): ground truth `class a b c d`, detections
// `class confidence a b c d`, where a b c d are left top width height (xywh), left top right bottom
// (xyxy) or normalized centre x, centre y, width, height (yolo). Blank lines and # comments are
// skipped; anything else that does not parse is an error naming the file and line.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DetectionBox, GroundTruthBox } from './map.js';

export type BoxFileFormat = 'xywh' | 'xyxy' | 'yolo';
export const BOX_FILE_FORMATS: readonly BoxFileFormat[] = ['xywh', 'xyxy', 'yolo'];

export class BoxFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'BoxFileError';
  }
}

export interface ParseOptions {
  format?: BoxFileFormat;
  /** For yolo: image size to turn fractions into pixels. Without it boxes stay normalized. */
  imageSize?: { width: number; height: number };
}

export interface ParsedBox {
  label: string;
  score?: number;
  box: [number, number, number, number]; // xyxy
}

/** Parses one file's text; `kind` says whether lines carry a confidence. */
export function parseBoxFile(text: string, file: string, kind: 'gt' | 'det', opts: ParseOptions = {}): ParsedBox[] {
  const format = opts.format ?? 'xywh';
  const want = kind === 'gt' ? 5 : 6;
  const out: ParsedBox[] = [];
  const lines = text.split(/\r?\n/);
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln].trim();
    if (line === '' || line.startsWith('#')) continue;
    const fail = (reason: string): never => {
      throw new BoxFileError(file, ln + 1, reason);
    };
    const f = line.split(/\s+/);
    if (f.length !== want) {
      const layout = kind === 'gt' ? 'class a b c d' : 'class confidence a b c d';
      fail(`expected ${want} fields (${layout}), found ${f.length}`);
    }
    const nums = f.slice(1).map((s) => (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) ? Number(s) : NaN));
    const bad = nums.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) fail(`field ${bad + 2} "${f[bad + 1]}" is not a finite number`);
    const label = f[0];
    if (format === 'yolo' && !/^\d+$/.test(label)) fail(`yolo class "${label}" is not a non-negative integer id`);
    const score = kind === 'det' ? nums[0] : undefined;
    const [a, b, c, d] = kind === 'det' ? nums.slice(1) : nums;
    let box: [number, number, number, number];
    if (format === 'xyxy') {
      if (c < a || d < b) fail(`right/bottom (${c}, ${d}) lie before left/top (${a}, ${b})`);
      box = [a, b, c, d];
    } else if (format === 'xywh') {
      if (c < 0 || d < 0) fail(`negative width or height (${c}, ${d})`);
      box = [a, b, a + c, b + d];
    } else {
      if (c < 0 || d < 0) fail(`negative width or height (${c}, ${d})`);
      const sx = opts.imageSize?.width ?? 1, sy = opts.imageSize?.height ?? 1;
      box = [(a - c / 2) * sx, (b - d / 2) * sy, (a + c / 2) * sx, (b + d / 2) * sy];
    }
    out.push(score === undefined ? { label, box } : { label, score, box });
  }
  return out;
}

async function listTxt(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.txt')).map((e) => e.name).sort();
}

export interface LoadedFolders {
  groundTruth: GroundTruthBox[];
  detections: DetectionBox[];
  images: string[];
  warnings: string[];
}

/**
 * Reads a ground-truth folder and a detection folder. Files pair by name; a ground-truth file with
 * no detection file is an image where nothing was detected; a detection file with no ground-truth
 * file is an image without objects (all its detections false positives), which earns a warning.
 */
export async function readEvaluationFolders(gtDir: string, detDir: string, opts: ParseOptions = {}): Promise<LoadedFolders> {
  const [gtFiles, detFiles] = await Promise.all([listTxt(gtDir), listTxt(detDir)]);
  const warnings: string[] = [];
  if (gtFiles.length === 0) warnings.push(`no .txt files in ground-truth folder ${gtDir}`);
  if (detFiles.length === 0) warnings.push(`no .txt files in detection folder ${detDir}`);
  const gtSet = new Set(gtFiles);
  const orphans = detFiles.filter((f) => !gtSet.has(f));
  if (orphans.length) warnings.push(`${orphans.length} detection file(s) without ground truth (treated as images with no objects), e.g. ${orphans[0]}`);
  const groundTruth: GroundTruthBox[] = [];
  const detections: DetectionBox[] = [];
  for (const name of gtFiles) {
    const file = join(gtDir, name);
    for (const p of parseBoxFile(await readFile(file, 'utf8'), file, 'gt', opts)) groundTruth.push({ image: name, label: p.label, box: p.box });
  }
  for (const name of detFiles) {
    const file = join(detDir, name);
    for (const p of parseBoxFile(await readFile(file, 'utf8'), file, 'det', opts)) detections.push({ image: name, label: p.label, score: p.score!, box: p.box });
  }
  const images = [...new Set([...gtFiles, ...detFiles])].sort();
  return { groundTruth, detections, images, warnings };
}
