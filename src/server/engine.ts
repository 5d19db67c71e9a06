// Which inference engine a service runs, from its configuration.
import type { BackendChoice } from '../runtime/backend.js';
import type { DetectorModel, ModelRegistry } from '../runtime/models.js';
import { InProcessEngine, type InferenceEngine, type InProcessEngineOptions } from './inference.js';
import { WorkerEngine, type EngineLog } from './worker-engine.js';

export interface EngineChoice extends InProcessEngineOptions {
  /** Worker threads; 0 runs passes in-process. */
  workers?: number;
  batchMax?: number;
  batchWaitMs?: number;
  backend?: BackendChoice;
}

/**
 * The engine a service runs: a worker pool over the registry's detector folders when workers > 0 and
 * the registry knows where its detectors came from, else the in-process engine. A pool that cannot
 * start is logged and the service serves in-process rather than not at all.
 */
export async function createEngine(registry: ModelRegistry, choice: EngineChoice, log?: EngineLog): Promise<InferenceEngine> {
  const dirOf = (registry as { dirOf?: (name: string) => string | undefined }).dirOf?.bind(registry);
  const models = registry
    .list()
    .filter((m): m is DetectorModel => m.kind === 'detector')
    .flatMap((model) => {
      const dir = dirOf?.(model.manifest.name);
      return dir ? [{ model, dir }] : [];
    });
  if ((choice.workers ?? 0) > 0 && models.length > 0) {
    try {
      return await WorkerEngine.start({ ...choice, workers: choice.workers as number, models, log });
    } catch (err) {
      log?.error({ err }, 'inference workers could not start; detection runs in-process');
    }
  }
  return new InProcessEngine(choice);
}
