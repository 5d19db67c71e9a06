// Process entry: read config, pick the backend, build the app, listen, and drain on SIGTERM/SIGINT.
import { isMain } from '../is-main.js';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { initBackend } from '../runtime/backend.js';
import { buildApp, type BuildAppOptions } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';

export interface StartOptions {
  config?: Config;
  /** Install SIGTERM/SIGINT handlers that drain and exit (the CLI and `npm start` do). */
  handleSignals?: boolean;
  plugins?: BuildAppOptions['plugins'];
  /** Models to serve instead of loading config.modelsDir (tests, embedding). */
  registry?: BuildAppOptions['registry'];
}

export async function start(opts: StartOptions = {}): Promise<FastifyInstance> {
  const config = opts.config ?? loadConfig();
  // The backend comes first: a forced backend that cannot load must stop start-up before anything listens.
  const backend = await initBackend(config.backend);
  const app = await buildApp({ config, plugins: opts.plugins, registry: opts.registry });
  app.log.info({ backend: backend.name, skipped: backend.skipped, versions: backend.versions }, `tfjs backend: ${backend.name}`);

  if (opts.handleSignals !== false) {
    // close-with-grace exits 1 if the drain outlives the delay, so a stuck request cannot block a rollout.
    closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'fatal error, shutting down');
      else app.log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: draining in-flight requests');
      app.draining = true;
      await app.close();
      app.log.info('shut down cleanly');
    });
  }

  await app.listen({ port: config.port, host: config.host });
  return app;
}

if (isMain(import.meta.url)) {
  start().catch((err: unknown) => {
    // No logger exists yet when config or the backend fails, so this goes to stderr plainly.
    if (err instanceof ConfigError) console.error(`kestrel: ${err.message}`);
    else console.error(`kestrel: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
