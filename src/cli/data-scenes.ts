// kestrel data scenes: writes the fmnist-scenes benchmark dataset in the YOLO layout.
import { parseArgs } from 'node:util';
import { mkdir } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { loadFmnist } from '../vision/datasets/fmnist.js';
import { writeScenes } from '../vision/datasets/scenes.js';
import { numberOption, requiredFlags } from './options.js';

export const HELP = `usage: kestrel data scenes --fmnist DIR --out DIR [--seed S] [--train N] [--val N] [--test N] [--size 128]

Writes fmnist-scenes: Fashion-MNIST items (12–96 px, 0–6 per image) on procedural clutter, in the YOLO
layout (images/{train,val,test}, labels/{...}, classes.txt, data.yaml). Train objects come from the
Fashion-MNIST train split, val/test objects from its test split. The same seed gives byte-identical files.

  --fmnist DIR   folder with the idx files (.gz or not), e.g. /usr/share/datasets/fashion-mnist
  --out DIR      output folder (created)
  --seed S       integer seed (default 1)
  --train N      training images (default 8000)
  --val N        validation images (default 500)
  --test N       test images (default 1000)
  --size PX      image side (default 128)
  --quiet        no progress bar`;

const intOpt = (v: string | undefined, name: string, def: number, min = 0): number => numberOption(v, name, def, { min });

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      fmnist: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' },
      train: { type: 'string' }, val: { type: 'string' }, test: { type: 'string' }, size: { type: 'string' },
      quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const req = requiredFlags(values, HELP, ['fmnist', 'out']);
  if (typeof req === 'number') return req;
  const plan = {
    seed: intOpt(values.seed, 'seed', 1),
    size: intOpt(values.size, 'size', 128, 32),
    counts: { train: intOpt(values.train, 'train', 8000), val: intOpt(values.val, 'val', 500), test: intOpt(values.test, 'test', 1000) },
  };
  const [train, test] = await Promise.all([loadFmnist(req.fmnist, 'train'), loadFmnist(req.fmnist, 't10k')]);
  await mkdir(req.out, { recursive: true });
  const total = plan.counts.train + plan.counts.val + plan.counts.test;
  const bar = values.quiet || !process.stderr.isTTY ? undefined : new cliProgress.SingleBar({ format: 'scenes [{bar}] {value}/{total} ETA {eta_formatted}' }, cliProgress.Presets.shades_classic);
  bar?.start(total, 0);
  await writeScenes(train, test, req.out, plan, () => bar?.increment());
  bar?.stop();
  console.log(`wrote ${total} images to ${req.out} (seed ${plan.seed}, ${plan.size}×${plan.size})`);
  return 0;
}
