// Loads models/<name>/ folders at start. One broken model must not take the service down: it is
// recorded in `failures` (and logged by the caller) while the others serve.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { z } from 'zod';
import { manifestSchema, type Manifest } from './manifest.js';
import { loaderFor } from './loaders.js';
import type { LoadedModel, ModelLoader, ModelRegistry } from './models.js';

export interface RegistryFailure {
  name: string;
  dir: string;
  error: string;
  /** Known when the manifest itself was valid: a failed default model keeps the service unready. */
  kind?: Manifest['kind'];
  default?: boolean;
}

export interface LoadRegistryOptions {
  /** Replaces loaderFor(), for tests. */
  loaderFor?: (m: Manifest) => Promise<ModelLoader>;
  /** Called once per model, loaded or not. */
  onModel?: (event: { name: string; dir: string; ok: boolean; error?: string; ms: number }) => void;
}

export class Registry implements ModelRegistry {
  readonly #models = new Map<string, LoadedModel>();
  readonly #dirs = new Map<string, string>();
  readonly failures: RegistryFailure[];

  constructor(models: readonly { model: LoadedModel; dir?: string }[], failures: readonly RegistryFailure[] = []) {
    for (const { model, dir } of models) {
      const name = model.manifest.name;
      if (this.#models.has(name)) throw new Error(`two models are named "${name}"`);
      this.#models.set(name, model);
      if (dir) this.#dirs.set(name, dir);
    }
    this.failures = [...failures];
  }

  /** Training provenance and figures from the model's metrics.json, when it has one. */
  async metricsOf(name: string): Promise<ModelMetrics | undefined> {
    const dir = this.#dirs.get(name);
    return dir ? readModelMetrics(dir) : undefined;
  }

  /** The folder a model was loaded from, when known (worker threads load the same folders). */
  dirOf(name: string): string | undefined {
    return this.#dirs.get(name);
  }

  list(): readonly LoadedModel[] {
    return [...this.#models.values()];
  }

  get(name: string): LoadedModel | undefined {
    return this.#models.get(name);
  }

  defaultOf<K extends LoadedModel['kind']>(kind: K): Extract<LoadedModel, { kind: K }> | undefined {
    const ofKind = this.list().filter((m): m is Extract<LoadedModel, { kind: K }> => m.kind === kind);
    return ofKind.find((m) => m.manifest.default) ?? ofKind[0];
  }

  dispose(): void {
    for (const m of this.#models.values()) m.dispose();
    this.#models.clear();
  }
}

/** Reads and validates one folder's manifest.json and checks that every file it lists is there. */
export async function readManifest(dir: string): Promise<Manifest> {
  let raw: string;
  try {
    raw = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new Error('manifest.json is missing or unreadable');
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new Error(`manifest.json is not valid JSON: ${(err as Error).message}`);
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    const where = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`manifest.json is invalid: ${where}`);
  }
  const m = r.data;
  const root = resolve(dir) + sep;
  const missing: string[] = [];
  for (const f of m.files) {
    const p = resolve(dir, f);
    // A manifest must not reach outside its own folder.
    if (!p.startsWith(root)) throw new Error(`manifest.json lists a file outside the model folder: ${f}`);
    const s = await stat(p).catch(() => undefined);
    if (!s?.isFile()) missing.push(f);
  }
  if (missing.length) throw new Error(`listed files are missing: ${missing.join(', ')}`);
  return m;
}

/** metrics.json beside the manifest: how the model was trained and how well it does. Optional. */
export const modelMetricsSchema = z.looseObject({
  data: z.unknown().optional(),
  split: z.unknown().optional(),
  seed: z.unknown().optional(),
  command: z.unknown().optional(),
  figures: z.record(z.string(), z.unknown()).optional(),
});
export type ModelMetrics = z.infer<typeof modelMetricsSchema>;

export async function readModelMetrics(dir: string): Promise<ModelMetrics | undefined> {
  const raw = await readFile(join(dir, 'metrics.json'), 'utf8').catch(() => undefined);
  if (raw === undefined) return undefined;
  try {
    const r = modelMetricsSchema.safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Every subfolder of modelsDir that holds a manifest.json; a missing modelsDir is an empty set. */
export async function modelFolders(modelsDir: string): Promise<string[]> {
  const entries = await readdir(modelsDir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => join(modelsDir, e.name))
    .sort();
}

export async function loadRegistry(modelsDir: string, opts: LoadRegistryOptions = {}): Promise<Registry> {
  const pick = opts.loaderFor ?? loaderFor;
  const models: { model: LoadedModel; dir: string }[] = [];
  const failures: RegistryFailure[] = [];
  for (const dir of await modelFolders(modelsDir)) {
    const folder = dir.slice(dir.lastIndexOf(sep) + 1);
    const t0 = performance.now();
    let name = folder;
    let known: Pick<RegistryFailure, 'kind' | 'default'> = {};
    try {
      const manifest = await readManifest(dir);
      name = manifest.name;
      known = { kind: manifest.kind, default: manifest.default };
      if (manifest.name !== folder) throw new Error(`manifest name "${manifest.name}" differs from its folder "${folder}"`);
      const loader = await pick(manifest);
      const model = await loader(manifest, dir);
      if (model.kind !== manifest.kind) {
        model.dispose();
        throw new Error(`loader returned a ${model.kind} for a ${manifest.kind} manifest`);
      }
      models.push({ model, dir });
      opts.onModel?.({ name, dir, ok: true, ms: performance.now() - t0 });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      failures.push({ name, dir, error, ...known });
      opts.onModel?.({ name, dir, ok: false, error, ms: performance.now() - t0 });
    }
  }
  return new Registry(models, failures);
}
