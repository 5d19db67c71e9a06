// kestrel train backbone: pre-trains the detector's CNN as a Fashion-MNIST classifier (transfer learning).
import { parseArgs } from 'node:util';
import { initBackend } from '../runtime/backend.js';
import { loadFmnist } from '../vision/datasets/fmnist.js';
import { pretrain } from '../vision/train/pretrain.js';
import { numberOption, requiredFlags } from './options.js';

export const HELP = `usage: kestrel train backbone --fmnist DIR --out DIR [--init-from DIR] [options]

Pre-trains the detector's backbone and neck as a Fashion-MNIST classifier on crops drawn by the
fmnist-scenes renderer (one train-split item, 10 px to the crop side less 2, anywhere on procedural clutter). A global average
pool of each of the three feature maps the heads read feeds one dense layer. Writes a detector folder with
the pre-trained weights (its heads are those of --init-from, or untrained) for
\`kestrel train detector --init-from DIR\`, and metrics.json with the test accuracy on rendered t10k crops
and on the plain 28×28 t10k images.

  --fmnist DIR      Fashion-MNIST idx files (Debian: /usr/share/datasets/fashion-mnist)
  --out DIR         folder to write
  --init-from DIR   start from a detector folder (its config, anchors and weights)
  --minutes M       training budget; the LR warms up, then decays by a cosine over it (default 20)
  --batch N         crops per step (default 64)
  --lr X            peak Adam learning rate (default 0.001)
  --crop PX         crop side, a multiple of 32 (default 32)
  --seed S          seed of the crop stream (default 1)
  --test N          rendered test crops to score (default 10000)`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      fmnist: { type: 'string' }, out: { type: 'string' }, 'init-from': { type: 'string' }, minutes: { type: 'string' },
      batch: { type: 'string' }, lr: { type: 'string' }, crop: { type: 'string' }, seed: { type: 'string' }, test: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const req = requiredFlags(values, HELP, ['fmnist', 'out']);
  if (typeof req === 'number') return req;
  const num = (v: string | undefined, name: string, def: number, int = true): number => numberOption(v, name, def, { int, above: true });
  const crop = num(values.crop, 'crop', 32);
  // The neck adds upsampled stride-32 maps to stride-16 ones, which only line up on multiples of 32.
  if (crop % 32 !== 0) throw new Error(`--crop must be a multiple of 32, got ${crop}`);
  const backend = await initBackend((process.env['KESTREL_BACKEND'] as 'auto' | undefined) ?? 'auto');
  console.log(`backend ${backend.name}`);
  const [train, test] = await Promise.all([loadFmnist(req.fmnist, 'train'), loadFmnist(req.fmnist, 't10k')]);
  const name = req.out.replace(/\/+$/, '').split('/').pop() ?? 'backbone';
  let lastLog = 0;
  await pretrain({
    train, test, out: req.out, name, initFrom: values['init-from'],
    crop, minSide: 10, maxSide: crop - 2,
    batch: num(values.batch, 'batch', 64), lr: num(values.lr, 'lr', 0.001, false), seed: num(values.seed, 'seed', 1),
    seconds: num(values.minutes, 'minutes', 20, false) * 60, testCount: num(values.test, 'test', 10000),
    command: ['kestrel', 'train', 'backbone', ...argv].join(' '),
    onStep: (p) => {
      if (p.elapsed - lastLog < 15) return;
      lastLog = p.elapsed;
      console.log(`step ${p.step} loss ${p.loss.toFixed(4)} train accuracy ${(100 * p.accuracy).toFixed(1)} % lr ${p.lr.toExponential(2)} ${(p.elapsed / 60).toFixed(1)} min`);
    },
  });
  console.log(`wrote ${req.out}`);
  return 0;
}
