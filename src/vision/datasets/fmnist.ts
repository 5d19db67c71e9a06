// Fashion-MNIST in its original idx format (optionally gzipped), as shipped by the Debian package
// dataset-fashion-mnist under /usr/share/datasets/fashion-mnist.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const FMNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export interface FmnistSplit {
  images: Uint8Array; // n × 28 × 28
  labels: Uint8Array; // n
  count: number;
  rows: number;
  cols: number;
}

async function readIdx(path: string): Promise<Buffer> {
  const candidates = [path, `${path}.gz`];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`Fashion-MNIST file not found: ${path}(.gz)`);
  const buf = await readFile(found);
  return found.endsWith('.gz') ? gunzipSync(buf) : buf;
}

export async function loadFmnist(dir: string, split: 'train' | 't10k'): Promise<FmnistSplit> {
  const img = await readIdx(join(dir, `${split}-images-idx3-ubyte`));
  const lab = await readIdx(join(dir, `${split}-labels-idx1-ubyte`));
  if (img.readUInt32BE(0) !== 0x803) throw new Error(`${split} images: bad idx magic`);
  if (lab.readUInt32BE(0) !== 0x801) throw new Error(`${split} labels: bad idx magic`);
  const count = img.readUInt32BE(4);
  const rows = img.readUInt32BE(8);
  const cols = img.readUInt32BE(12);
  if (lab.readUInt32BE(4) !== count) throw new Error(`${split}: ${count} images but ${lab.readUInt32BE(4)} labels`);
  return {
    images: new Uint8Array(img.buffer, img.byteOffset + 16, count * rows * cols),
    labels: new Uint8Array(lab.buffer, lab.byteOffset + 8, count),
    count, rows, cols,
  };
}
