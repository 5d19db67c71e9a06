// Runs `kestrel eval forecaster ... --json` on a model folder and records the command and its verbatim
// output under "evaluation" in the folder's metrics.json.
// usage: node scripts/record-eval.mjs models/NAME -- <eval forecaster arguments without --model/--json>
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, sep, ...args] = process.argv.slice(2);
if (!dir || sep !== '--') {
  console.error('usage: node scripts/record-eval.mjs models/NAME -- --csv FILE --test-from DATE [...]');
  process.exit(2);
}
const argv = ['eval', 'forecaster', '--model', dir, ...args, '--json'];
const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...argv], { encoding: 'utf8' });
const result = JSON.parse(out.trim().split('\n').pop());
const path = join(dir, 'metrics.json');
const metrics = JSON.parse(readFileSync(path, 'utf8'));
metrics.evaluation = { command: `kestrel ${argv.join(' ')}`, output: result };
writeFileSync(path, JSON.stringify(metrics, null, 2) + '\n');
console.log(JSON.stringify(metrics.evaluation));
