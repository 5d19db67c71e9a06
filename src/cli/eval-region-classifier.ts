// kestrel eval region-classifier: test accuracy of a region classifier folder on Fashion-MNIST t10k items.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend, tf } from '../runtime/backend.js';
import { FMNIST_CLASSES, loadFmnist } from '../vision/datasets/fmnist.js';
import { diskLoader } from '../vision/detector/weights-io.js';
import { regionClassifierSchema } from '../vision/region-classifier/config.js';
import { testRegionClassifier } from '../vision/region-classifier/train.js';
import { numberOption, requiredFlags } from './options.js';
// Registers the custom layer classes so model.json can be deserialised.
import '../vision/backbone/fast-conv.js';
import '../vision/backbone/batch-norm.js';

export const HELP = `usage: kestrel eval region-classifier --model DIR --fmnist DIR [--json] [--write-metrics]

Test accuracy of a region classifier (the folder train region-classifier writes, or a detector's
region-classifier/): t10k items in freshly rendered fmnist-scenes images cut with exact and with jittered
boxes (all, small < 32² px, medium), and the plain 28×28 t10k images. The crop settings come from the
folder's metrics.json (training.config), else the defaults.

  --model DIR       classifier folder (model.json, weights.bin)
  --fmnist DIR      Fashion-MNIST idx files (Debian: /usr/share/datasets/fashion-mnist)
  --test N          test items (default 10000)
  --seed S          seed of the test scenes (default 1, as training uses)
  --jitter X        box jitter for the jittered figure (default 0.08)
  --json            print the figures as JSON
  --write-metrics   record them in the folder's metrics.json under "evaluation"`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, fmnist: { type: 'string' }, test: { type: 'string' }, seed: { type: 'string' }, jitter: { type: 'string' },
      json: { type: 'boolean' }, 'write-metrics': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const req = requiredFlags(values, HELP, ['model', 'fmnist']);
  if (typeof req === 'number') return req;
  const metricsPath = join(req.model, 'metrics.json');
  const metrics = existsSync(metricsPath) ? (JSON.parse(readFileSync(metricsPath, 'utf8')) as Record<string, { config?: unknown } | undefined>) : {};
  const cfg = regionClassifierSchema.parse(metrics['training']?.config ?? {});
  await initBackend((process.env['KESTREL_BACKEND'] as 'auto' | undefined) ?? 'auto');
  const model = await tf.loadLayersModel(diskLoader(req.model));
  const test = await loadFmnist(req.fmnist, 't10k');
  const seed = numberOption(values.seed, 'seed', 1);
  const jitter = numberOption(values.jitter, 'jitter', 0.08, { int: false });
  const r = await testRegionClassifier(model, test, cfg, FMNIST_CLASSES.length, seed, numberOption(values.test, 'test', 10000, { above: true }), jitter);
  model.dispose();
  if (values.json) console.log(JSON.stringify(r));
  else {
    const pct = (v: number): string => `${(100 * v).toFixed(2)} %`;
    console.log(`exact boxes ${pct(r.exact.all)} (small ${pct(r.exact.small)}, medium ${pct(r.exact.medium)}; ${r.exact.count} items), jittered boxes ${pct(r.jittered.all)}, plain 28×28 t10k ${pct(r.plain.all)}`);
    console.log(`  exact boxes by class: ${FMNIST_CLASSES.map((c, i) => `${c} ${pct(r.exact.perClass[i])}`).join(', ')}`);
  }
  if (values['write-metrics']) {
    (metrics as Record<string, unknown>)['evaluation'] = { command: ['kestrel', 'eval', 'region-classifier', ...argv].join(' '), seed, jitter, testAccuracyExactBoxes: r.exact, testAccuracyJitteredBoxes: r.jittered, testAccuracyPlainT10k: r.plain, date: new Date().toISOString() };
    writeFileSync(metricsPath, `${JSON.stringify(metrics, null, 2)}\n`);
  }
  return 0;
}
