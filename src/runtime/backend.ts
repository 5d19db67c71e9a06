// The one place that decides which tfjs backend runs. Everything else imports `tf` from here
// so that the same tfjs-core instance (and its kernel registry) is used throughout.
import { createRequire } from 'node:module';
import * as tf from './tf.js';

export { tf };

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendInfo {
  name: BackendName;
  /** Why the backends tried before this one were not used. */
  skipped: { name: BackendName; reason: string }[];
  versions: Record<string, string>;
}

export class BackendUnavailableError extends Error {
  constructor(name: BackendName, reason: string) {
    super(`tfjs backend "${name}" is not available: ${reason}`);
    this.name = 'BackendUnavailableError';
  }
}

type Loader = () => Promise<void>;

const loaders: Record<BackendName, Loader> = {
  // tfjs-node is optional: its install downloads libtensorflow, which fails on offline machines.
  tensorflow: async () => {
    await import('@tensorflow/tfjs-node' as string);
  },
  wasm: async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    const { registerWasmKernels } = await import('./kernels/index.js');
    registerWasmKernels();
  },
  cpu: async () => {
    // Registered when ./tf.js loads @tensorflow/tfjs-backend-cpu.
  },
};

let current: BackendInfo | undefined;

async function tryBackend(name: BackendName): Promise<string | undefined> {
  try {
    await loaders[name]();
    const ok = await tf.setBackend(name);
    if (!ok) return 'setBackend returned false';
    await tf.ready();
    // A trivial op proves the backend actually executes kernels.
    const probe = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)));
    const v = (await probe.data())[0];
    probe.dispose();
    if (v !== 3) return `probe computed ${v}`;
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message.split('\n')[0] : String(err);
  }
}

/**
 * Selects the backend. `auto` is wasm, else cpu: kestrel's own kernels and fused ops are wasm kernels, and
 * wasm and cpu are the backends the tests run on. tfjs-node is used only when asked for by name, since no
 * test here runs on it (its install needs a download these machines cannot make). A forced choice that
 * cannot load is an error rather than a silent fallback, so operators notice a broken image.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (current && (choice === 'auto' || choice === current.name)) return current;
  const order: BackendName[] = choice === 'auto' ? ['wasm', 'cpu'] : [choice];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    const reason = await tryBackend(name);
    if (reason === undefined) {
      current = { name, skipped, versions: versionsOf(name) };
      return current;
    }
    if (choice !== 'auto') throw new BackendUnavailableError(name, reason);
    skipped.push({ name, reason });
  }
  throw new BackendUnavailableError('cpu', 'no backend could be initialised');
}

export function backendInfo(): BackendInfo | undefined {
  return current;
}

function versionsOf(name: BackendName): Record<string, string> {
  const v: Record<string, string> = { tfjs: tf.version.tfjs, node: process.versions.node };
  if (name === 'tensorflow') {
    try {
      v['tfjs-node'] = (createRequire(import.meta.url)('@tensorflow/tfjs-node/package.json') as { version: string }).version;
    } catch {
      // Loaded but its package.json is not resolvable (a bundler); the version is then unknown.
    }
  }
  return v;
}
