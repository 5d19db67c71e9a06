// Shared by `kestrel detect` and `kestrel eval detector`: a --model argument names a folder under the
// models directory or is a path; either way it must hold a detector, and the answer says which was meant.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../runtime/backend.js';
import { manifestSchema } from '../runtime/manifest.js';
import { loaderFor } from '../runtime/loaders.js';
import type { DetectorModel } from '../runtime/models.js';

export async function openDetector(modelArg: string, modelsDir = 'models'): Promise<{ dir: string; model: DetectorModel } | { error: string }> {
  const dir = existsSync(join(modelArg, 'manifest.json')) ? modelArg : join(modelsDir, modelArg);
  if (!existsSync(join(dir, 'manifest.json'))) return { error: `no model at ${dir} (manifest.json missing)` };
  await initBackend((process.env['KESTREL_BACKEND'] as 'auto' | undefined) ?? 'auto');
  const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  const model = await (await loaderFor(manifest))(manifest, dir);
  if (model.kind !== 'detector') return { error: `${manifest.name} is a ${model.kind} model, not a detector` };
  return { dir, model };
}
