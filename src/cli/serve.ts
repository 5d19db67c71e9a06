// kestrel serve: the same as `npm start`, with flags overriding the environment.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../server/config.js';
import { start } from '../server/server.js';

export const HELP = `usage: kestrel serve [options]

Serves the models in the models folder over HTTP until SIGTERM/SIGINT.

options:
  --port <n>          listen port (env PORT, default 8080)
  --host <addr>       listen address (env HOST, default 0.0.0.0)
  --models <dir>      models folder (env KESTREL_MODELS_DIR, default <package>/models)
  --backend <name>    auto (wasm, else cpu) | tensorflow | wasm | cpu (env KESTREL_BACKEND, default auto)
  -h, --help          show this help

Every other setting is an environment variable; see README.md.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
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
  // Flags go through the same validation as the environment, so errors name the same variables.
  const env = { ...process.env };
  if (values.port !== undefined) env.PORT = values.port;
  if (values.host !== undefined) env.HOST = values.host;
  if (values.models !== undefined) env.KESTREL_MODELS_DIR = values.models;
  if (values.backend !== undefined) env.KESTREL_BACKEND = values.backend;
  try {
    await start({ config: loadConfig(env) });
  } catch (err) {
    console.error(`kestrel serve: ${err instanceof ConfigError ? err.message : `cannot start: ${(err as Error).message}`}`);
    return 1;
  }
  // Keep running: the signal handler ends the process once the server has drained.
  return new Promise<number>(() => {});
}
