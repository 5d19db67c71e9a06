// kestrel eval map: mean average precision of anyone's detections against ground truth, from one
// text file per image.
import { parseArgs } from 'node:util';
import { stat } from 'node:fs/promises';
import { BOX_FILE_FORMATS, BoxFileError, readEvaluationFolders, type BoxFileFormat } from '../vision/eval/files.js';
import { evaluateDetections, type Evaluation } from '../vision/eval/map.js';
import { plotPrCurves } from '../vision/eval/plot.js';

export const HELP = `usage: kestrel eval map --gt DIR --det DIR [options]

Mean average precision (PASCAL VOC style) of detections against ground truth.
One text file per image, the same file name in both folders.
  ground truth lines:  class left top width height
  detection lines:     class confidence left top width height
  (--format xyxy: left top right bottom; --format yolo: classId [confidence] cx cy w h, normalized)

options:
  --gt DIR              ground-truth folder (required)
  --det DIR             detection folder (required)
  --iou T               IoU threshold for a true positive (default 0.5)
  --format F            xywh | xyxy | yolo (default xywh)
  --image-size WxH      yolo only: image size, to give boxes pixel areas (COCO size ranges)
  --pixel-inclusive     legacy VOC devkit IoU: a box covers pixels x..x+w inclusive
  --coco                also report COCO AP@[.50:.95], AP50, AP75, AP by size, AR@1/10/100
  --json                print one JSON object instead of a table
  --plot FILE.png       write the precision-recall curves as a PNG
  -h, --help            this help

JSON: {"mAP", "ap11", "perClass": {"<class>": {"ap", "ap11", "precision", "recall", "tp", "fp", "npos"}}}
(plus "coco" with --coco). mAP averages the classes present in the ground truth; a detection class
absent from it is listed with its false positives and a warning.`;

function pct(v: number): string {
  return Number.isNaN(v) ? '   n/a' : (v * 100).toFixed(2).padStart(6);
}

function table(ev: Evaluation, iou: number, coco: boolean): string {
  const names = Object.keys(ev.perClass);
  const w = Math.max(5, ...names.map((n) => n.length));
  const lines = [`${'class'.padEnd(w)}  AP@${iou}  AP11pt     TP     FP   npos`];
  for (const n of names) {
    const c = ev.perClass[n];
    const extra = ev.classes.includes(n) ? '' : '  (not in ground truth)';
    lines.push(`${n.padEnd(w)}  ${pct(c.ap)}  ${pct(c.ap11)} ${String(c.tp).padStart(6)} ${String(c.fp).padStart(6)} ${String(c.npos).padStart(6)}${extra}`);
  }
  lines.push(`${'mAP'.padEnd(w)}  ${pct(ev.mAP)}  ${pct(ev.ap11)}   (${ev.classes.length} classes, percent)`);
  if (coco && ev.coco) {
    const k = ev.coco;
    lines.push('', 'COCO (percent):');
    lines.push(`  AP@[.50:.95] ${pct(k.ap)}   AP50 ${pct(k.ap50)}   AP75 ${pct(k.ap75)}`);
    lines.push(`  AP small ${pct(k.apSmall)}   medium ${pct(k.apMedium)}   large ${pct(k.apLarge)}`);
    lines.push(`  AR@1 ${pct(k.ar1)}   AR@10 ${pct(k.ar10)}   AR@100 ${pct(k.ar100)}`);
    lines.push(`  AR small ${pct(k.arSmall)}   medium ${pct(k.arMedium)}   large ${pct(k.arLarge)}`);
  }
  return lines.join('\n');
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export async function run(argv: string[]): Promise<number> {
  // An unknown option throws; kestrel main() answers it with one line, the usage and exit code 2.
  const { values } = parseArgs({
    args: argv,
    options: {
      gt: { type: 'string' },
      det: { type: 'string' },
      iou: { type: 'string', default: '0.5' },
      format: { type: 'string', default: 'xywh' },
      'image-size': { type: 'string' },
      'pixel-inclusive': { type: 'boolean', default: false },
      coco: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      plot: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const usageError = (msg: string): number => {
    console.error(`kestrel eval map: ${msg} (see --help)`);
    return 2;
  };
  if (!values.gt || !values.det) return usageError('--gt and --det are required');
  const iou = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(values.iou) ? Number(values.iou) : NaN;
  if (!(iou >= 0 && iou <= 1)) return usageError(`--iou must be a number in [0, 1], got "${values.iou}"`);
  if (!BOX_FILE_FORMATS.includes(values.format as BoxFileFormat)) return usageError(`--format must be one of ${BOX_FILE_FORMATS.join(', ')}`);
  const format = values.format as BoxFileFormat;
  let imageSize: { width: number; height: number } | undefined;
  if (values['image-size'] !== undefined) {
    const m = /^(\d+)x(\d+)$/.exec(values['image-size']);
    if (!m || format !== 'yolo') return usageError('--image-size WxH goes with --format yolo');
    imageSize = { width: Number(m[1]), height: Number(m[2]) };
  }
  if (values['pixel-inclusive'] && format === 'yolo' && !imageSize) return usageError('--pixel-inclusive needs pixel boxes (yolo: add --image-size)');
  for (const [flag, dir] of [['--gt', values.gt], ['--det', values.det]] as const) {
    if (!(await isDir(dir))) return usageError(`${flag} ${dir} is not a folder`);
  }
  let loaded;
  try {
    loaded = await readEvaluationFolders(values.gt, values.det, { format, imageSize });
  } catch (err) {
    if (err instanceof BoxFileError) {
      console.error(`kestrel eval map: ${err.message}`);
      return 1;
    }
    throw err;
  }
  const ev = evaluateDetections(loaded.groundTruth, loaded.detections, {
    iouThreshold: iou,
    pixelInclusive: values['pixel-inclusive'],
    coco: values.coco,
    pixelAreas: format !== 'yolo' || imageSize !== undefined,
  });
  for (const w of [...loaded.warnings, ...ev.warnings]) console.error(`warning: ${w}`);
  if (values.json) {
    const perClass: Record<string, unknown> = {};
    for (const [k, c] of Object.entries(ev.perClass)) {
      perClass[k] = { ap: c.ap, ap11: c.ap11, precision: c.precision, recall: c.recall, tp: c.tp, fp: c.fp, npos: c.npos };
    }
    const out: Record<string, unknown> = { mAP: ev.mAP, ap11: ev.ap11, perClass };
    if (values.coco) out.coco = ev.coco; // NaN (undefined figures) serialises as null
    console.log(JSON.stringify(out));
  } else {
    console.log(table(ev, iou, values.coco));
  }
  if (values.plot) {
    await plotPrCurves(ev, values.plot);
    if (!values.json) console.log(`precision-recall curves written to ${values.plot}`);
  }
  return 0;
}
