// kestrel train region-classifier: trains the second-stage classifier that names the item in each detected box.
import { parseArgs } from 'node:util';
import { initBackend } from '../runtime/backend.js';
import { FMNIST_CLASSES, loadFmnist } from '../vision/datasets/fmnist.js';
import { regionClassifierSchema } from '../vision/region-classifier/config.js';
import { trainRegionClassifier } from '../vision/region-classifier/train.js';
import { numberOption, requiredFlags } from './options.js';

export const HELP = `usage: kestrel train region-classifier --fmnist DIR --out DIR [options]

Trains the region classifier: a small CNN that reads each detected box's pixels (a square around the box,
resized to --input px) and gives a class distribution that the detector mixes with its head's. Examples
are Fashion-MNIST train items in freshly rendered fmnist-scenes images, cut through jittered boxes.
Writes model.json, weights.bin and metrics.json (test accuracy on t10k items, exact and jittered boxes)
into --out; put it in a detector folder as region-classifier/ and add "regionClassifier" to the
manifest's config (see docs/detector.md).

  --fmnist DIR      Fashion-MNIST idx files (Debian: /usr/share/datasets/fashion-mnist)
  --out DIR         folder to write, e.g. models/kestrel-fmnist/region-classifier
  --init-from DIR   continue from a classifier folder's weights (same --input and --channels; layers that
                    differ, such as a changed --readout, start fresh; new schedule)
  --minutes M       training budget; the LR warms up, then decays by a cosine over it (default 20)
  --batch N         examples per step (default 64)
  --lr X            peak Adam learning rate (default 0.002)
  --input PX        crop side (default 32)
  --context X       margin around the box's longer side, share per side (default 0.1)
  --channels A,B,C  widths of the three stages (default 32,64,128)
  --readout R       average (pool the last map) or grid (one more stage, flattened 4×4 map; default average)
  --grid-channels N  with --readout grid: width of the 4×4 stage (default: the third --channels width)
  --grid-depth N    with --readout grid: 3×3 convs in the 4×4 stage (default 1)
  --jitter X        box jitter, standard deviation as a share of the side (default 0.08)
  --seed S          seed of the example stream (default 1)
  --test N          test items to score (default 10000)`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      fmnist: { type: 'string' }, out: { type: 'string' }, 'init-from': { type: 'string' }, minutes: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' },
      input: { type: 'string' }, context: { type: 'string' }, channels: { type: 'string' }, jitter: { type: 'string' }, seed: { type: 'string' },
      readout: { type: 'string' }, 'grid-channels': { type: 'string' }, 'grid-depth': { type: 'string' }, test: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const req = requiredFlags(values, HELP, ['fmnist', 'out']);
  if (typeof req === 'number') return req;
  const num = (v: string | undefined, name: string, def: number, int = true): number => numberOption(v, name, def, { int, above: true });
  const readouts: readonly string[] = regionClassifierSchema.shape.readout.unwrap().options;
  if (values.readout !== undefined && !readouts.includes(values.readout)) throw new Error(`--readout must be ${readouts.join(' or ')}, got "${values.readout}"`);
  const cfg = regionClassifierSchema.parse({
    inputSize: num(values.input, 'input', 32),
    context: numberOption(values.context, 'context', 0.1, { int: false }),
    channels: values.channels ? values.channels.split(',').map((c) => numberOption(c, 'channels', 0, { int: true, above: true })) : undefined,
    readout: values.readout,
    gridChannels: values['grid-channels'] === undefined ? undefined : num(values['grid-channels'], 'grid-channels', 0),
    gridDepth: values['grid-depth'] === undefined ? undefined : num(values['grid-depth'], 'grid-depth', 1),
  });
  if (cfg.readout !== 'grid' && (values['grid-channels'] !== undefined || values['grid-depth'] !== undefined)) throw new Error('--grid-channels and --grid-depth need --readout grid');
  const backend = await initBackend((process.env['KESTREL_BACKEND'] as 'auto' | undefined) ?? 'auto');
  console.log(`backend ${backend.name}`);
  const [train, test] = await Promise.all([loadFmnist(req.fmnist, 'train'), loadFmnist(req.fmnist, 't10k')]);
  let lastLog = 0;
  const r = await trainRegionClassifier({
    train, test, cfg, numClasses: FMNIST_CLASSES.length, out: req.out, initFrom: values['init-from'],
    batch: num(values.batch, 'batch', 64), lr: num(values.lr, 'lr', 0.002, false), seed: num(values.seed, 'seed', 1),
    seconds: num(values.minutes, 'minutes', 20, false) * 60, testCount: num(values.test, 'test', 10000),
    jitter: numberOption(values.jitter, 'jitter', 0.08, { int: false }),
    command: ['kestrel', 'train', 'region-classifier', ...argv].join(' '),
    onNote: (line) => console.log(line),
    onStep: (p) => {
      if (p.elapsed - lastLog < 15) return;
      lastLog = p.elapsed;
      console.log(`step ${p.step} loss ${p.loss.toFixed(4)} train accuracy ${(100 * p.accuracy).toFixed(1)} % lr ${p.lr.toExponential(2)} ${(p.elapsed / 60).toFixed(1)} min`);
    },
  });
  const pct = (v: number): string => `${(100 * v).toFixed(2)} %`;
  console.log(`${r.steps} steps in ${(r.seconds / 60).toFixed(1)} min; test accuracy on ${r.exact.count} t10k items: exact boxes ${pct(r.exact.all)} (small ${pct(r.exact.small)}, medium ${pct(r.exact.medium)}), jittered boxes ${pct(r.jittered.all)}; plain 28×28 t10k ${pct(r.plain.all)}`);
  console.log(`wrote ${req.out}`);
  return 0;
}
