// Minimal loaded models for app tests: enough to be listed, never asked to compute.
import { manifestSchema, type Manifest } from '../../src/runtime/manifest.js';
import type { DetectorModel, ForecasterModel, LoadedModel } from '../../src/runtime/models.js';
import { Registry, type RegistryFailure } from '../../src/runtime/registry.js';

export function manifest(over: Partial<Manifest> & Pick<Manifest, 'name' | 'kind'>): Manifest {
  return manifestSchema.parse({ version: '1', files: ['weights.bin'], ...over });
}

export function fakeDetector(name: string, over: Partial<Manifest> = {}): DetectorModel {
  const m = manifest({ name, kind: 'detector', labels: ['cat', 'dog'], heads: ['yolo', 'ssd'], input: { width: 64, height: 64, channels: 3 }, ...over });
  return {
    kind: 'detector',
    manifest: m,
    labels: m.labels ?? [],
    heads: m.heads ?? [],
    defaultHead: (m.heads ?? [])[0] ?? 'yolo',
    inputSize: { width: 64, height: 64 },
    defaultScoreThreshold: 0.5,
    async predict() {
      throw new Error('not used');
    },
    dispose() {},
  };
}

export function fakeForecaster(name: string, over: Partial<Manifest> = {}): ForecasterModel {
  return {
    kind: 'forecaster',
    manifest: manifest({ name, kind: 'forecaster', input: { window: 24, horizon: 6 }, ...over }),
    window: 24,
    maxHorizon: 6,
    async forecast() {
      throw new Error('not used');
    },
    dispose() {},
  };
}

export function registryOf(models: LoadedModel[], failures: RegistryFailure[] = []): Registry {
  return new Registry(
    models.map((model) => ({ model })),
    failures,
  );
}
