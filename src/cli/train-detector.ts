// kestrel train detector: trains the shared backbone with one or all heads and writes a model folder.
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { initBackend } from '../runtime/backend.js';
import { HEADS, type HeadName } from '../vision/detector/config.js';
import { FEATURE_TAPS, type FeatureTap } from '../vision/nanodet/features.js';
import { existsSync } from 'node:fs';
import { manifestSchema } from '../runtime/manifest.js';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_AUGMENT, train, type PretrainedOptions } from '../vision/train/trainer.js';
import { numberOption, requiredFlags } from './options.js';

export const HELP = `usage: kestrel train detector --data DIR --out models/NAME [--head all|sliding-window|yolo|ssd] [options]

Trains the CNN backbone jointly with the chosen heads (default: all three, summed losses), or with
--backbone the heads alone on a pretrained model's frozen features, on a dataset in the YOLO layout
(images/train + labels/train, or Roboflow's train/images + train/labels; classes.txt or data.yaml); the
steps for your own data: docs/custom-models.md. YOLO anchors come from k-means on
the training boxes. Every checkpoint leaves a complete model folder (manifest.json, model.json,
weights.bin, metrics.json) plus optimizer state for --resume.

  --data DIR           dataset root
  --out DIR            model folder, e.g. models/kestrel-fmnist (its basename is the model name)
  --head H             all (default), sliding-window, yolo or ssd; repeatable
  --epochs N           passes over the training images (default 10)
  --batch N            images per step (default 16)
  --lr X               peak learning rate, Adam, warm-up then cosine decay (default 0.002)
  --seed S             seed for anchors, data order and augmentation (default 1)
  --resume             continue from the checkpoint in --out
  --init-from DIR      warm start from a model folder's weights and anchors (new schedule, fresh optimizer)
  --limit N            use only the first N training images
  --checkpoint-every N steps between checkpoints (default 100)
  --clip X             gradient clipping by global norm (default 10)
  --no-augment         no flip/scale/colour jitter
  --size PX            input side (default 128)
  --threads N          threads: each step's batch is shared among them, and with --backbone they
                       also extract the features (default: the machine's cores)
  --max-minutes M      training-time budget (all resumed segments together): the LR schedule decays
                       by then and training stops with a checkpoint; --resume continues
  --backbone NAME|DIR  train on a pretrained backbone's frozen features instead of kestrel's own CNN:
                       a model folder (under models/ or a path); 'coco' is NanoDet-g. Its features are
                       computed once per image and view and cached; then only the heads train
  --tap backbone|pan|tower
                       which features: the COCO model's backbone stage outputs before its neck (default;
                       128, 256 and 512 channels), its PAN neck output, or its head tower's (128 each)
  --tune 8[,16,32]     fine-tune these strides' backbone stages with the heads ('backbone' tap): the
                       cache holds each stage's entry, and the rest of the stage trains from the
                       backbone's weights (default: none, the backbone stays frozen)
  --adapter-depth N    trainable 3×3 conv layers on each feature map before the heads (default 1)
  --adapter-channels N their width (default 128)
  --views N            cached views per image with augmentation on: the image plus N−1 fixed
                       augmentations (default 2)
  --cache DIR          feature cache (default OUT/checkpoint/features); safe to delete after training
  --default            mark the model as the service's default detector in its manifest
  --quiet              no progress bar; a log line every 25 steps instead`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' }, out: { type: 'string' }, head: { type: 'string', multiple: true },
      epochs: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, seed: { type: 'string' },
      resume: { type: 'boolean' }, 'init-from': { type: 'string' }, limit: { type: 'string' }, 'checkpoint-every': { type: 'string' },
      clip: { type: 'string' }, 'no-augment': { type: 'boolean' }, size: { type: 'string' },
      'max-minutes': { type: 'string' }, default: { type: 'boolean' },
      backbone: { type: 'string' }, tap: { type: 'string' }, tune: { type: 'string' }, 'adapter-depth': { type: 'string' }, 'adapter-channels': { type: 'string' },
      views: { type: 'string' }, cache: { type: 'string' }, threads: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const req = requiredFlags(values, HELP, ['data', 'out']);
  if (typeof req === 'number') return req;
  const num = (v: string | undefined, name: string, def: number, int = true): number => numberOption(v, name, def, { int });
  const headsArg = values.head ?? ['all'];
  const heads: HeadName[] = headsArg.includes('all') ? [...HEADS] : [];
  if (!headsArg.includes('all')) {
    for (const h of headsArg) {
      if (!(HEADS as readonly string[]).includes(h)) throw new Error(`--head must be all, ${HEADS.join(', ')}; got "${h}"`);
      if (!heads.includes(h as HeadName)) heads.push(h as HeadName);
    }
  }
  const threads = num(values.threads, 'threads', availableParallelism()) || 1;
  let pretrained: PretrainedOptions | undefined;
  if (values.backbone !== undefined) {
    const dir = existsSync(join(values.backbone, 'manifest.json')) ? values.backbone : join('models', values.backbone);
    if (!existsSync(join(dir, 'manifest.json'))) throw new Error(`--backbone: no model at ${dir}`);
    const tap = values.tap ?? 'backbone';
    if (!(FEATURE_TAPS as readonly string[]).includes(tap)) throw new Error(`--tap must be one of ${FEATURE_TAPS.join(', ')}, got "${tap}"`);
    // In stride order and once each, so that `--tune 16,8` names the same network and cache as `--tune 8,16`.
    const tuned = values.tune === undefined ? [] : [...new Set(values.tune.split(',').map((v) => numberOption(v.trim(), 'tune', 0, { int: true })))].sort((a, b) => a - b);
    if (tuned.some((s) => ![8, 16, 32].includes(s))) throw new Error(`--tune takes strides among 8, 16 and 32 (e.g. --tune 8 or --tune 8,16), got "${values.tune}"`);
    pretrained = {
      dir,
      tap: tap as FeatureTap,
      tuned,
      adapter: { depth: num(values['adapter-depth'], 'adapter-depth', 1), channels: num(values['adapter-channels'], 'adapter-channels', 128) },
      views: num(values.views, 'views', 2) || 1,
      cacheDir: values.cache ?? join(req.out, 'checkpoint', 'features'),
      threads,
    };
  } else if (values.tap || values.tune || values['adapter-depth'] || values['adapter-channels'] || values.views || values.cache) {
    throw new Error('--tap, --tune, --adapter-depth, --adapter-channels, --views and --cache go with --backbone');
  }
  const backend = await initBackend((process.env['KESTREL_BACKEND'] as 'auto' | undefined) ?? 'auto');
  const name = req.out.replace(/\/+$/, '').split('/').pop() ?? 'detector';
  // Checked before hours of training, not when the model folder is first loaded.
  const named = manifestSchema.shape.name.safeParse(name);
  if (!named.success) throw new Error(`--out: the folder's name "${name}" is the model's name and must be ${named.error.issues[0]?.message ?? 'valid'}`);
  const quiet = values.quiet || !process.stderr.isTTY;
  const bar = quiet ? undefined : new cliProgress.SingleBar({ format: 'train [{bar}] {value}/{total} | epoch {epoch} | loss {loss} ({parts}) | lr {lr} | {sps}s/step | ETA {eta_formatted}', etaBuffer: 50 }, cliProgress.Presets.shades_classic);
  let started = false;
  const t0 = Date.now();
  console.log(`backend ${backend.name}; heads ${heads.join(', ')}`);
  await train({
    data: req.data,
    out: req.out,
    name,
    heads,
    epochs: num(values.epochs, 'epochs', 10),
    batch: num(values.batch, 'batch', 16),
    lr: num(values.lr, 'lr', 0.002, false),
    seed: num(values.seed, 'seed', 1),
    resume: values.resume ?? false,
    initFrom: values['init-from'],
    limit: num(values.limit, 'limit', 0),
    checkpointEvery: num(values['checkpoint-every'], 'checkpoint-every', 100) || 100,
    clipNorm: num(values.clip, 'clip', 10, false),
    augment: values['no-augment'] ? null : DEFAULT_AUGMENT,
    inputSize: num(values.size, 'size', 128),
    maxSeconds: num(values['max-minutes'], 'max-minutes', 0, false) * 60,
    command: ['kestrel', 'train', 'detector', ...argv].join(' '),
    markDefault: values.default ?? false,
    threads,
    pretrained: pretrained && {
      ...pretrained,
      onExtract: (done, todo) => {
        if (done === todo || done % 400 < 8) console.log(`features ${done}/${todo} (${Math.round((Date.now() - t0) / 1000)} s)`);
      },
    },
    onProgress: (p) => {
      const parts = Object.entries(p.parts).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ');
      if (bar) {
        if (!started) {
          bar.start(p.totalSteps, p.step - 1);
          started = true;
        }
        bar.update(p.step, { epoch: p.epoch.toFixed(2), loss: p.loss.toFixed(4), parts, lr: p.lr.toExponential(2), sps: p.secondsPerStep.toFixed(2) });
      } else if (p.step % 25 === 0 || p.step === p.totalSteps) {
        const eta = (p.totalSteps - p.step) * p.secondsPerStep;
        console.log(`step ${p.step}/${p.totalSteps} epoch ${p.epoch.toFixed(2)} loss ${p.loss.toFixed(4)} (${parts}) lr ${p.lr.toExponential(2)} ${p.secondsPerStep.toFixed(2)}s/step ETA ${Math.floor(eta / 60)}m${Math.round(eta % 60)}s elapsed ${Math.round((Date.now() - t0) / 1000)}s`);
      }
    },
    log: (l) => (bar && started ? bar.stop() : undefined, console.log(l)),
  });
  bar?.stop();
  console.log(`wrote ${req.out}`);
  return 0;
}
