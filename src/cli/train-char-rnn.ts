// kestrel train char-rnn: trains a character-level RNN language model on a text corpus.
import { parseArgs } from 'node:util';
import { basename, resolve } from 'node:path';
import { initBackend } from '../runtime/backend.js';
import { CELLS } from '../text/network.js';
import { train } from '../text/train.js';
import type { CellType } from '../runtime/rnn/index.js';

export const HELP = `usage: kestrel train char-rnn --corpus FILE --out models/NAME [options]

Trains a character-level recurrent language model. The last 10% of the corpus is validation.

  --corpus FILE         UTF-8 text (required)
  --out DIR             model folder to write (required); its base name is the model name
  --cell rnn|lstm|gru   recurrent cell (default lstm)
  --layers N            stacked layers (default 2)
  --hidden N            hidden units per layer (default 256)
  --dropout P           dropout between layers during training (default 0)
  --seq N               truncated-BPTT length; state carries across chunks (default 100)
  --batch N             parallel streams (default 32)
  --steps N             stop after N optimizer steps (total, including resumed ones)
  --minutes M           stop after M minutes of training in this run
  --lr X                learning rate (default 0.002)
  --lr-final F          final learning rate as a fraction of --lr, linear decay (default 0.1)
  --optimizer adam|adagrad   (default adam)
  --clip X              global gradient-norm clip (default 5)
  --seed N              initialisation seed (default 1)
  --resume              continue from the checkpoint in --out (weights, optimizer, position)
  --eval-every SEC      validation estimate period in seconds (default 120)
  --eval-chars N        characters used by the periodic estimate (default 20000)
  --checkpoint-every SEC  checkpoint period in seconds (default 300)
  --val-fraction F      validation fraction at the end of the corpus (default 0.1)
  --val-limit N         final validation on the first N validation characters only (quick experiments)
  --samples N           samples written to metrics.json (default 3)
`;

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      corpus: { type: 'string' },
      out: { type: 'string' },
      cell: { type: 'string', default: 'lstm' },
      layers: { type: 'string', default: '2' },
      hidden: { type: 'string', default: '256' },
      dropout: { type: 'string', default: '0' },
      seq: { type: 'string', default: '100' },
      batch: { type: 'string', default: '32' },
      steps: { type: 'string' },
      minutes: { type: 'string' },
      lr: { type: 'string', default: '0.002' },
      'lr-final': { type: 'string', default: '0.1' },
      optimizer: { type: 'string', default: 'adam' },
      clip: { type: 'string', default: '5' },
      seed: { type: 'string', default: '1' },
      resume: { type: 'boolean', default: false },
      'eval-every': { type: 'string', default: '120' },
      'eval-chars': { type: 'string', default: '20000' },
      'checkpoint-every': { type: 'string', default: '300' },
      'val-fraction': { type: 'string', default: '0.1' },
      'val-limit': { type: 'string' },
      samples: { type: 'string', default: '3' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const fail = (msg: string) => {
    console.error(`kestrel train char-rnn: ${msg}\n\n${HELP}`);
    return 2;
  };
  if (!v.corpus || !v.out) return fail('--corpus and --out are required');
  if (!(CELLS as readonly string[]).includes(v.cell!)) return fail(`--cell must be one of ${CELLS.join(', ')}`);
  if (v.optimizer !== 'adam' && v.optimizer !== 'adagrad') return fail('--optimizer must be adam or adagrad');
  const int = (name: string, s: string | undefined, min = 1) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${s}`);
    return n;
  };
  const num = (name: string, s: string | undefined, lo: number, hi: number) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < lo || n > hi) throw new Error(`--${name} must be a number in [${lo}, ${hi}], got ${s}`);
    return n;
  };
  if (v.steps === undefined && v.minutes === undefined) return fail('give --steps or --minutes (or both)');
  let opts;
  try {
    opts = {
      corpus: resolve(v.corpus),
      outDir: resolve(v.out),
      name: basename(resolve(v.out)),
      cell: v.cell as CellType,
      layers: int('layers', v.layers),
      hidden: int('hidden', v.hidden),
      dropout: num('dropout', v.dropout, 0, 0.9),
      seq: int('seq', v.seq),
      batch: int('batch', v.batch),
      steps: v.steps === undefined ? undefined : int('steps', v.steps),
      minutes: v.minutes === undefined ? undefined : num('minutes', v.minutes, 0, 1e6),
      lr: num('lr', v.lr, 1e-6, 10),
      lrFinal: num('lr-final', v['lr-final'], 0, 1),
      optimizer: v.optimizer as 'adam' | 'adagrad',
      clip: num('clip', v.clip, 1e-6, 1e6),
      seed: int('seed', v.seed, 0),
      resume: v.resume ?? false,
      evalEverySec: num('eval-every', v['eval-every'], 1, 1e9),
      evalChars: int('eval-chars', v['eval-chars']),
      checkpointEverySec: num('checkpoint-every', v['checkpoint-every'], 1, 1e9),
      valFraction: num('val-fraction', v['val-fraction'], 0.001, 0.5),
      valLimit: v['val-limit'] === undefined ? undefined : int('val-limit', v['val-limit']),
      samples: int('samples', v.samples, 0),
      command: `kestrel train char-rnn ${argv.join(' ')}`,
    };
  } catch (err) {
    return fail((err as Error).message);
  }
  const info = await initBackend((process.env['KESTREL_BACKEND'] as 'auto' | undefined) ?? 'auto');
  console.log(`backend: ${info.name}`);
  await train(opts);
  return 0;
}
