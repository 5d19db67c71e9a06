// Reads a tfjs weights manifest (the format face-api and tfjs converters write) from disk and decodes it
// with tfjs's own weight decoding, so quantized (uint8/uint16/float16) entries come back dequantized.
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { tf } from '../../runtime/backend.js';

export interface WeightsManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

export type WeightMap = Record<string, tf.Tensor>;

function isManifest(x: unknown): x is WeightsManifestGroup[] {
  return (
    Array.isArray(x) &&
    x.every(
      (g) =>
        g !== null &&
        typeof g === 'object' &&
        Array.isArray((g as WeightsManifestGroup).paths) &&
        Array.isArray((g as WeightsManifestGroup).weights),
    )
  );
}

/** Bytes one manifest entry occupies in its shard, after quantization. */
function entryBytes(e: tf.io.WeightsManifestEntry): number {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const dtype = e.quantization?.dtype ?? e.dtype;
  const per: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };
  const size = per[dtype];
  if (size === undefined) throw new Error(`weights: unsupported dtype ${dtype} for ${e.name}`);
  return n * size;
}

/**
 * Loads every tensor of a weights manifest. Shard paths are resolved beside the manifest and must
 * stay inside its folder (a manifest is data and must not read arbitrary files).
 */
export async function loadWeightMap(manifestPath: string): Promise<WeightMap> {
  const raw: unknown = JSON.parse(await readFile(manifestPath, 'utf8'));
  if (!isManifest(raw)) throw new Error(`${manifestPath}: not a tfjs weights manifest`);
  const dir = resolve(dirname(manifestPath));
  const out: WeightMap = {};
  try {
    for (const group of raw) {
      const shards = await Promise.all(
        group.paths.map(async (p) => {
          const file = resolve(join(dir, p));
          if (!file.startsWith(dir + '/')) throw new Error(`${manifestPath}: shard path escapes its folder: ${p}`);
          const buf = await readFile(file);
          // A Node Buffer may be a view into a shared pool; decodeWeights needs exactly these bytes.
          return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
        }),
      );
      const expected = group.weights.reduce((s, e) => s + entryBytes(e), 0);
      const actual = shards.reduce((s, b) => s + b.byteLength, 0);
      if (actual !== expected) {
        throw new Error(`${manifestPath}: shards hold ${actual} bytes, manifest describes ${expected}`);
      }
      Object.assign(out, tf.io.decodeWeights(shards, group.weights));
    }
  } catch (err) {
    disposeWeightMap(out);
    throw err;
  }
  return out;
}

export function disposeWeightMap(m: WeightMap): void {
  for (const t of Object.values(m)) t.dispose();
}

/** Takes a tensor out of the map, checking its rank and, where given, its shape. */
export function takeWeight(m: WeightMap, name: string, shape?: readonly (number | null)[]): tf.Tensor {
  const t = m[name];
  if (!t) throw new Error(`weights: missing tensor ${name}`);
  if (shape) {
    const ok = t.shape.length === shape.length && shape.every((d, i) => d === null || d === t.shape[i]);
    if (!ok) throw new Error(`weights: ${name} has shape [${t.shape.join(',')}], expected [${shape.map((d) => d ?? '?').join(',')}]`);
  }
  return t;
}
