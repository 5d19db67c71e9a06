// Model folder I/O: manifest.json + weights.bin (little-endian float32 tensors, concatenated in the
// order the manifest lists them).
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../runtime/atomic-write.js';
import { manifestSchema, type Manifest } from '../runtime/manifest.js';
import { CELLS, type NamedArray, type NetConfig } from './network.js';

export const WEIGHTS_FILE = 'weights.bin';

export const charRnnConfigSchema = z.object({
  architecture: z.literal('kestrel').default('kestrel'),
  cell: z.enum(CELLS),
  layers: z.number().int().min(1).max(8),
  hidden: z.number().int().min(1).max(4096),
  dropout: z.number().min(0).max(0.99).default(0),
  tensors: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()) })).min(1),
});
export type CharRnnConfig = z.infer<typeof charRnnConfigSchema>;

export function packArrays(arrays: NamedArray[]): Buffer {
  const total = arrays.reduce((s, a) => s + a.data.length, 0);
  const out = new Float32Array(total);
  let o = 0;
  for (const a of arrays) {
    out.set(a.data, o);
    o += a.data.length;
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

export function unpackArrays(buf: Buffer, tensors: { name: string; shape: number[] }[]): NamedArray[] {
  const need = tensors.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
  if (buf.byteLength !== need * 4) throw new Error(`weights file has ${buf.byteLength} bytes, the manifest describes ${need * 4}`);
  // Copy into an aligned buffer: a Buffer from readFile may sit at any byte offset.
  const all = new Float32Array(need);
  new Uint8Array(all.buffer).set(buf);
  const out: NamedArray[] = [];
  let o = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    out.push({ name: t.name, shape: t.shape, data: all.subarray(o, o + n) });
    o += n;
  }
  return out;
}

export interface SaveModelOptions {
  dir: string;
  name: string;
  vocabulary: string;
  net: NetConfig;
  arrays: NamedArray[];
  description?: string;
  isDefault?: boolean;
}

export async function saveModel(o: SaveModelOptions): Promise<Manifest> {
  await mkdir(o.dir, { recursive: true });
  const config: CharRnnConfig = {
    architecture: 'kestrel',
    cell: o.net.cell,
    layers: o.net.layers,
    hidden: o.net.hidden,
    dropout: o.net.dropout,
    tensors: o.arrays.map((a) => ({ name: a.name, shape: a.shape })),
  };
  const manifest = manifestSchema.parse({
    name: o.name,
    kind: 'char-rnn',
    version: '1',
    description: o.description ?? `character-level ${o.net.layers}×${o.net.hidden} ${o.net.cell.toUpperCase()} language model`,
    default: o.isDefault ?? false,
    input: { vocabulary: o.vocabulary },
    files: [WEIGHTS_FILE],
    config,
  });
  await writeFileAtomic(join(o.dir, WEIGHTS_FILE), packArrays(o.arrays));
  await writeFileAtomic(join(o.dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

export interface LoadedWeights {
  manifest: Manifest;
  config: CharRnnConfig;
  vocabulary: string;
  arrays: NamedArray[];
}

export async function readModel(dir: string, manifest?: Manifest): Promise<LoadedWeights> {
  const m = manifest ?? manifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  if (m.kind !== 'char-rnn') throw new Error(`${dir}: kind is ${m.kind}, not char-rnn`);
  const config = charRnnConfigSchema.parse(m.config);
  const vocabulary = m.input.vocabulary;
  if (!vocabulary) throw new Error(`${dir}: manifest input.vocabulary is missing`);
  const file = m.files.find((f) => f.endsWith('.bin')) ?? WEIGHTS_FILE;
  const arrays = unpackArrays(await readFile(join(dir, file)), config.tensors);
  return { manifest: m, config, vocabulary, arrays };
}
