// LSTM vs GRU vs vanilla RNN at (nearly) equal parameter count and equal wall-clock training budget,
// on a whole corpus and on its first 10% (issue 7: "GRUs train faster and perform better than LSTMs on
// less training data"). Runs `kestrel train char-rnn` once per (corpus, cell), one after another.
//
//   npm run bench:char-rnn-cells -- --corpus ../shared/data/tinyshakespeare.txt --minutes 2 [--params 240000]
//     [--work DIR] [--json FILE] [--val-limit N]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { paramCount } from '../src/text/network.js';
import { Vocabulary } from '../src/text/vocab.js';
import type { CellType } from '../src/runtime/rnn/index.js';

const { values: o } = parseArgs({
  options: {
    corpus: { type: 'string' },
    minutes: { type: 'string', default: '2' },
    params: { type: 'string', default: '240000' },
    layers: { type: 'string', default: '2' },
    work: { type: 'string', default: '.tmp/char-rnn-cells' },
    json: { type: 'string' },
    'val-limit': { type: 'string', default: '20000' },
    help: { type: 'boolean', default: false },
  },
});
if (o.help || !o.corpus) {
  console.log('usage: npm run bench:char-rnn-cells -- --corpus FILE [--minutes M] [--params N] [--layers L] [--work DIR] [--json FILE] [--val-limit N]');
  process.exit(o.help ? 0 : 2);
}
const text = readFileSync(o.corpus, 'utf8');
const vocab = Vocabulary.fromText(text);
const layers = Number(o.layers);
const target = Number(o.params);
const work = resolve(o.work!);
mkdirSync(work, { recursive: true });

/** The hidden size whose parameter count is closest to the target. */
function hiddenFor(cell: CellType): number {
  let best = 1;
  for (let h = 1; h <= 2048; h++) if (Math.abs(paramCount(cell, layers, h, vocab.size) - target) < Math.abs(paramCount(cell, layers, best, vocab.size) - target)) best = h;
  return best;
}

// The first 10% keeps the whole corpus's vocabulary only if it happens to contain every character;
// each corpus gets its own vocabulary, as training builds it.
const chars = Array.from(text);
const first10 = join(work, 'first10.txt');
writeFileSync(first10, chars.slice(0, Math.floor(chars.length / 10)).join(''));
const corpora = [
  { name: 'whole', file: resolve(o.corpus) },
  { name: 'first 10%', file: first10 },
];
const cells: CellType[] = ['lstm', 'gru', 'rnn'];
const rows: Record<string, unknown>[] = [];
for (const c of corpora) {
  for (const cell of cells) {
    const hidden = hiddenFor(cell);
    const out = join(work, `${c.name === 'whole' ? 'whole' : 'first10'}-${cell}`);
    const args = ['--import', 'tsx', 'src/cli.ts', 'train', 'char-rnn', '--corpus', c.file, '--out', out, '--cell', cell, '--layers', String(layers), '--hidden', String(hidden)];
    args.push('--seq', '64', '--batch', '16', '--lr', '0.003', '--lr-final', '0.1', '--minutes', o.minutes!, '--seed', '1', '--eval-every', '1000000', '--checkpoint-every', '1000000', '--samples', '0', '--val-limit', o['val-limit']!);
    console.error(`${c.name} ${cell} ${layers}×${hidden} ...`);
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cell} on ${c.name} failed:\n${r.stderr}\n${r.stdout}`);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    const row = {
      corpus: c.name,
      cell,
      hidden,
      params: m.model.params,
      seconds: m.training.seconds,
      steps: m.training.steps,
      epochs: +m.training.epochs.toFixed(2),
      charsPerSec: Math.round(m.training.charsSeen / m.training.seconds),
      trainLossNats: +m.figures.trainLossNatsEma.toFixed(3),
      valLossNats: +m.figures.valLossNats.toFixed(3),
      bitsPerChar: +m.figures.bitsPerChar.toFixed(3),
      valCharsScored: m.split.valCharsScored,
    };
    rows.push(row);
    console.error(JSON.stringify(row));
  }
}
if (o.json) writeFileSync(o.json, JSON.stringify({ minutes: Number(o.minutes), targetParams: target, layers, rows }, null, 2) + '\n');
console.log('| corpus | cell | layers × hidden | parameters | steps | epochs | chars/s | val loss (nats) | bits/char |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.corpus} | ${r.cell} | ${layers}×${r.hidden} | ${r.params} | ${r.steps} | ${r.epochs} | ${r.charsPerSec} | ${r.valLossNats} | ${r.bitsPerChar} |`);
