// The tfjs namespace kestrel uses: core, layers and the graph-model converter, with the cpu backend
// registered, as the @tensorflow/tfjs umbrella offers them but without its webgl backend and tfjs-data,
// which a Node service never uses (and which were most of the image's weight).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { version_core } from '@tensorflow/tfjs-core';
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { version_layers } from '@tensorflow/tfjs-layers';
import { version_converter } from '@tensorflow/tfjs-converter';
// Type-only: brings tfjs-core's declarations of the chained ops (tensor.add(…)) into the program.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import { packageRoot } from '../package-root.js';

export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
export * from '@tensorflow/tfjs-converter';

// Gradients and chained ops: built from tfjs-core by `npm run build` (scripts/tfjs-registrations.mjs),
// because tfjs-core's Node entry does not register them. Without them training fails on the first
// gradient and any `tensor.method()` call is undefined, so a missing file is an error here, not later.
const registrations = join(packageRoot(), 'dist', 'tfjs', 'registrations.cjs');
if (!existsSync(registrations)) throw new Error(`${registrations} is missing: run npm run build`);
createRequire(import.meta.url)(registrations);

export const version = {
  'tfjs-core': version_core,
  'tfjs-backend-cpu': version_cpu,
  'tfjs-layers': version_layers,
  'tfjs-converter': version_converter,
  tfjs: version_core,
};
