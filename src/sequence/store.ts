// Model folders on disk: manifest.json + one float32 weight file per ensemble member + metrics.json.
import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestSchema, type Manifest } from '../runtime/manifest.js';
import { loaderFor } from '../runtime/loaders.js';
import type { ForecasterModel } from '../runtime/models.js';

export async function saveModelDir(dir: string, manifest: Manifest, weights: { file: string; data: Float32Array }[], metrics: unknown): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const w of weights) await writeFile(join(dir, w.file), new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifestSchema.parse(manifest), null, 2) + '\n');
  await writeFile(join(dir, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
}

/** Reads and checks a forecaster's folder through the registered loader. */
export async function loadForecasterDir(dir: string): Promise<ForecasterModel> {
  const raw = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as unknown;
  const manifest = manifestSchema.parse(raw);
  if (manifest.kind !== 'forecaster') throw new Error(`${dir} holds a ${manifest.kind}, not a forecaster`);
  for (const f of manifest.files) await access(join(dir, f)).catch(() => Promise.reject(new Error(`${dir}: listed file ${f} is missing`)));
  const load = await loaderFor(manifest);
  const m = await load(manifest, dir);
  if (m.kind !== 'forecaster') throw new Error(`loader for ${dir} built a ${m.kind}`);
  return m;
}
