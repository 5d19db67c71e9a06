// kestrel models: what is in the models folder and whether it loads.
import { parseArgs } from 'node:util';
import { initBackend } from '../runtime/backend.js';
import { loadRegistry } from '../runtime/registry.js';
import type { ModelRegistry } from '../runtime/models.js';
import { loadConfig } from '../server/config.js';

export const HELP = `usage: kestrel models [options]

Loads every model in the models folder and lists them; broken ones are reported on stderr.

options:
  --json              print [{"name","kind","default","heads"?}] on stdout
  --models <dir>      models folder (env KESTREL_MODELS_DIR, default <package>/models)
  --backend <name>    auto | tensorflow | wasm | cpu (env KESTREL_BACKEND, default auto)
  -h, --help          show this help

Exit status: 0 when every model loads, 1 when any is broken.`;

export interface ModelListing {
  name: string;
  kind: string;
  default: boolean;
  heads?: string[];
}

/** One row per loaded model; `default` is the effective default of its kind, as the server resolves it. */
export function listModels(registry: ModelRegistry): ModelListing[] {
  return registry.list().map((m) => ({
    name: m.manifest.name,
    kind: m.kind,
    default: registry.defaultOf(m.kind)?.manifest.name === m.manifest.name,
    ...(m.kind === 'detector' ? { heads: [...m.heads] } : {}),
  }));
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      models: { type: 'string' },
      backend: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const env = { ...process.env };
  if (values.models !== undefined) env.KESTREL_MODELS_DIR = values.models;
  if (values.backend !== undefined) env.KESTREL_BACKEND = values.backend;
  const config = loadConfig(env);
  await initBackend(config.backend);
  const registry = await loadRegistry(config.modelsDir);
  const rows = listModels(registry);
  for (const f of registry.failures) console.error(`kestrel models: skipped ${f.name}: ${f.error}`);
  if (values.json) {
    console.log(JSON.stringify(rows));
  } else if (rows.length === 0) {
    console.log(`no models in ${config.modelsDir}`);
  } else {
    for (const r of rows) console.log(`${r.name.padEnd(24)} ${r.kind.padEnd(11)} ${r.default ? 'default' : '       '} ${r.heads?.join(',') ?? ''}`.trimEnd());
  }
  registry.dispose();
  return registry.failures.length > 0 ? 1 : 0;
}
