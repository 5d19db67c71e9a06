// kestrel eval char-rnn: validation loss of a trained char-RNN on the last 10% of a text.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '../runtime/backend.js';
import { validationStart } from '../text/corpus.js';
import { CharRnnNet } from '../text/network.js';
import { evaluate } from '../text/train.js';
import { Vocabulary } from '../text/vocab.js';
import { readModel } from '../text/weights-io.js';

export const HELP = `usage: kestrel eval char-rnn --model NAME|DIR --corpus FILE [--json]

Mean cross-entropy of the model on the last 10% of FILE (the split training holds out), in nats and bits
per character.

  --model NAME|DIR      a folder, or a name under --models-dir
  --models-dir DIR      where model names are looked up (default models)
  --corpus FILE         UTF-8 text
  --val-fraction F      held-out fraction at the end of the text (default 0.1)
  --json                print {"valLossNats","bitsPerChar"} only
`;

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      'models-dir': { type: 'string', default: 'models' },
      corpus: { type: 'string' },
      'val-fraction': { type: 'string', default: '0.1' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  if (!v.model || !v.corpus) {
    console.error(`kestrel eval char-rnn: --model and --corpus are required\n\n${HELP}`);
    return 2;
  }
  const frac = Number(v['val-fraction']);
  if (!(frac > 0 && frac < 1)) {
    console.error('kestrel eval char-rnn: --val-fraction must be in (0, 1)');
    return 2;
  }
  const dir = existsSync(join(v.model, 'manifest.json')) ? resolve(v.model) : resolve(v['models-dir']!, v.model);
  if (!existsSync(join(dir, 'manifest.json'))) {
    console.error(`kestrel eval char-rnn: no model at ${v.model} (looked for ${join(dir, 'manifest.json')})`);
    return 2;
  }
  await initBackend((process.env['KESTREL_BACKEND'] as 'auto' | undefined) ?? 'auto');
  const saved = await readModel(dir);
  const vocab = new Vocabulary(saved.vocabulary);
  const text = await readFile(v.corpus, 'utf8');
  const chars = Array.from(text);
  const val = chars.slice(validationStart(chars.length, frac));
  const valText = val.join('');
  const bad = vocab.unknown(valText);
  if (bad.length) {
    console.error(`kestrel eval char-rnn: the validation text has characters outside the model's vocabulary: ${bad.map((c) => JSON.stringify(c)).join(', ')}`);
    return 1;
  }
  const net = new CharRnnNet({ cell: saved.config.cell, layers: saved.config.layers, hidden: saved.config.hidden, vocabSize: vocab.size, dropout: 0 });
  net.assign(saved.arrays);
  const started = Date.now();
  const nats = evaluate(net, vocab.encode(valText));
  net.dispose();
  const out = { valLossNats: nats, bitsPerChar: nats / Math.LN2 };
  if (v.json) console.log(JSON.stringify(out));
  else
    console.log(
      `${saved.manifest.name}: ${nats.toFixed(4)} nats/char, ${out.bitsPerChar.toFixed(4)} bits/char on the last ${Math.round(frac * 100)}% of ${v.corpus} (${val.length} characters, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
  return 0;
}
