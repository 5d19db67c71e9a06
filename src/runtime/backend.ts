// The one place that decides which tfjs backend runs. Everything else imports `tf` from here
// so that the same tfjs-core instance (and its kernel registry) is used throughout.
import * as tf from '@tensorflow/tfjs';

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
    // The cpu backend ships inside @tensorflow/tfjs.
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
 * Selects the backend: tfjs-node when it loads, else wasm, else cpu. A forced choice that cannot
 * load is an error rather than a silent fallback, so operators notice a broken image.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (current && (choice === 'auto' || choice === current.name)) return current;
  const order: BackendName[] = choice === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [choice];
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
    const tfv = (tf.version as unknown as Record<string, string>)['tfjs-node'];
    if (tfv) v['tfjs-node'] = tfv;
  }
  return v;
}
