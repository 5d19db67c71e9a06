// kestrel eval detector: mAP50, COCO mAP, AP small/medium/large and ms per image of a detector head.
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDetector } from './open-detector.js';
import cliProgress from 'cli-progress';
import { evaluateHead, type EvalResult } from '../vision/train/run-eval.js';
import { numberOption, requiredFlags } from './options.js';

export const HELP = `usage: kestrel eval detector --model NAME|DIR --data DIR [--head H|all] [--split test] [--json]

Runs a detector head over a YOLO-layout split, applies the shared per-class NMS (IoU 0.5) to candidates
scoring above 0.01 (at most 100 per image) and the shared evaluator, and reports VOC all-point AP at IoU 0.5 (mAP50), COCO AP@[.5:.95] (mAP), COCO AP for small
(<32²), medium (32²–96²) and large (>96²) boxes, and the median ms per image of predict at batch 1.

  --model NAME|DIR   a folder under --models-dir (default models/) or a path
  --data DIR         dataset root
  --head H           a head of the model, or all (default: the model's default head)
  --split S          split to evaluate (default test)
  --limit N          first N images only
  --json             print {"mAP50","mAP","apSmall","apMedium","apLarge","msPerImage",…,"perClassAp50"} (one object per head)
  --class-agnostic   merge all classes into one: measures finding and boxing objects apart from naming them
  --multi-label      a box is a candidate for every class scoring above 0.01, not only its best one (the
                     evaluation protocol of the SSD and YOLO papers; the service answers with the best class)
  --region-classifier, --without-region-classifier
                     name the boxes with the model's region classifier, or with the head's own classes
                     (default: the model's setting, usedByDefault in its manifest)
  --region-weight X  the region classifier's weight in the class mix, 0–1 (default: the manifest's)
  --score-threshold X  candidates scoring below X are dropped before NMS and scoring (default 0.01; a
                     higher one lowers mAP and shows the speed at a service-like threshold)
  --window-vote IOU  window voting overlap for the sliding-window heads, 0 = off (default: the manifest's)
  --write-metrics    also record the figures in the model's metrics.json under "evaluation"
  --models-dir DIR   where model names are looked up (default models)`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, data: { type: 'string' }, head: { type: 'string' }, split: { type: 'string' },
      limit: { type: 'string' }, json: { type: 'boolean' }, 'write-metrics': { type: 'boolean' }, 'class-agnostic': { type: 'boolean' }, 'multi-label': { type: 'boolean' },
      'region-classifier': { type: 'boolean' }, 'without-region-classifier': { type: 'boolean' }, 'region-weight': { type: 'string' }, 'window-vote': { type: 'string' }, 'score-threshold': { type: 'string' },
      'models-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const req = requiredFlags(values, HELP, ['model', 'data']);
  if (typeof req === 'number') return req;
  const opened = await openDetector(req.model, values['models-dir']);
  if ('error' in opened) {
    console.error(opened.error);
    return 2;
  }
  const { dir, model } = opened;
  if (values['region-classifier'] && (values['without-region-classifier'] || !model.hasRegionClassifier)) {
    console.error(values['without-region-classifier'] ? '--region-classifier and --without-region-classifier exclude each other' : `${req.model} has no region classifier`);
    model.dispose();
    return 2;
  }
  const heads = values.head === 'all' ? [...model.heads] : [values.head ?? model.defaultHead];
  for (const h of heads) {
    if (!model.heads.includes(h)) {
      console.error(`unknown head "${h}" (this model has: ${model.heads.join(', ')})`);
      return 2;
    }
  }
  const limit = values.limit ? Number(values.limit) : undefined;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new Error(`--limit must be a positive integer, got "${values.limit}"`);
  const split = values.split ?? 'test';
  const results: EvalResult[] = [];
  for (const h of heads) {
    const bar = values.json || !process.stderr.isTTY ? undefined : new cliProgress.SingleBar({ format: `${h} [{bar}] {value}/{total} ETA {eta_formatted}` }, cliProgress.Presets.shades_classic);
    let started = false;
    const r = await evaluateHead(model, req.data, split, h, {
      limit,
      classAgnostic: values['class-agnostic'] ?? false,
      multiLabel: values['multi-label'] ?? false,
      regionClassifier: values['region-classifier'] ? true : values['without-region-classifier'] ? false : undefined,
      regionWeight: values['region-weight'] === undefined ? undefined : numberOption(values['region-weight'], 'region-weight', 0.5, { int: false }),
      scoreThreshold: numberOption(values['score-threshold'], 'score-threshold', 0.01, { int: false }),
      windowVoteIou: values['window-vote'] === undefined ? undefined : numberOption(values['window-vote'], 'window-vote', 0, { int: false }),
      onImage: () => {
        if (!bar) return;
        if (!started) {
          bar.start(limit ?? 0, 0);
          started = true;
        }
        bar.increment();
      },
    });
    bar?.stop();
    results.push(r);
    if (!values.json) {
      const f = (v: number): string => (Number.isNaN(v) ? 'n/a' : v.toFixed(3));
      console.log(`${h}: mAP50 ${f(r.mAP50)}  mAP ${f(r.mAP)}  AP small ${f(r.apSmall)} medium ${f(r.apMedium)} large ${f(r.apLarge)}  ${r.msPerImage.toFixed(2)} ms/image  (${r.images} images; boxes small ${r.counts.small}, medium ${r.counts.medium}, large ${r.counts.large})`);
      console.log(`  AP50 by class: ${Object.entries(r.perClassAp50).map(([c, v]) => `${c} ${f(v)}`).join(', ')}`);
    }
  }
  if (values.json) {
    const out = results.map((r) => ({ head: r.head, mAP50: r.mAP50, mAP: r.mAP, apSmall: r.apSmall, apMedium: r.apMedium, apLarge: r.apLarge, msPerImage: r.msPerImage, images: r.images, counts: r.counts, multiLabel: r.multiLabel, regionClassifier: r.regionClassifier, perClassAp50: r.perClassAp50 }));
    // JSON has no NaN: an AP over an empty size range is null.
    console.log(JSON.stringify(out.length === 1 ? out[0] : out, (_k, v: unknown) => (typeof v === 'number' && Number.isNaN(v) ? null : v)));
  }
  if (values['write-metrics']) {
    const path = join(dir, 'metrics.json');
    const metrics = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
    const evaluation = (metrics['evaluation'] as Record<string, unknown> | undefined) ?? {};
    for (const r of results) {
      // A run on a subset is kept apart from the full-split figures of the same head.
      // Non-default settings name their own entries, so the shipped configuration's figures stay apart.
      const variant = [
        values['class-agnostic'] ? '-agnostic' : '',
        values['multi-label'] ? '-multilabel' : '',
        r.regionClassifier ? '-region' : '',
        values['region-weight'] !== undefined ? `-rw${values['region-weight']}` : '',
        values['window-vote'] !== undefined ? `-vote${values['window-vote']}` : '',
        values['score-threshold'] !== undefined ? `-thr${values['score-threshold']}` : '',
      ].join('');
      evaluation[`${r.head}${variant}${limit ? `@${r.images}` : ''}`] = { data: req.data, split, command: ['kestrel', 'eval', 'detector', ...argv].join(' '), ...r, date: new Date().toISOString() };
    }
    metrics['evaluation'] = evaluation;
    writeFileSync(path, `${JSON.stringify(metrics, (_k, v: unknown) => (typeof v === 'number' && Number.isNaN(v) ? null : v), 2)}\n`);
  }
  model.dispose();
  return 0;
}
