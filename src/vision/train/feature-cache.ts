// Frozen-backbone features on disk, so that training the heads on a pretrained backbone runs the backbone
// once per (image, view) instead of once per step. A view is the image as-is (view 0) or one fixed
// augmentation of it: augmenting in pixel space must happen before the backbone, so each view is cached.
// Values are stored as half floats, one file per (image, view), all maps back to back in stride order.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../../runtime/backend.js';
import { decodeHalf, encodeHalf } from '../../runtime/half.js';
import { writeFileAtomic } from '../../runtime/atomic-write.js';
import type { FeatureTap, NanoDetFeatures } from '../nanodet/features.js';
import { askThread, siblingModuleUrl, startThread } from '../../runtime/threads.js';

/** What a feature-extraction thread needs to open the backbone and the cache itself. */
export interface FeatureWorkerInit {
  backend: string;
  backboneDir: string;
  tap: FeatureTap;
  tuned: number[];
  cacheDir: string;
  key: FeatureCacheKey;
}

export const FEATURE_STRIDES = [8, 16, 32] as const;

/** What the cached values depend on; a cache written under another key is refused, not silently reused. */
export interface FeatureCacheKey {
  data: string;
  backbone: string;
  tap: string;
  /** Strides read at their stage's entry (fine-tuned stages). */
  tuned?: number[];
  side: number;
  /** Per stride (8, 16, 32), or one number for all three. */
  channels: number | number[];
  seed: number;
  augment: unknown;
}

export class FeatureCache {
  /** Values per map of one image. */
  readonly lengths: number[];
  private readonly total: number;
  private readonly half: Uint16Array;

  constructor(
    readonly dir: string,
    readonly key: FeatureCacheKey,
  ) {
    this.lengths = FEATURE_STRIDES.map((s, i) => Math.ceil(key.side / s) ** 2 * (typeof key.channels === 'number' ? key.channels : key.channels[i]));
    this.total = this.lengths.reduce((a, b) => a + b, 0);
    this.half = new Uint16Array(this.total);
    mkdirSync(dir, { recursive: true });
    const meta = join(dir, 'key.json');
    const text = JSON.stringify(key);
    if (existsSync(meta)) {
      const had = readFileSync(meta, 'utf8');
      if (had !== text) throw new Error(`feature cache ${dir} was written for ${had}, not ${text}; delete it or pass another --cache`);
    } else writeFileSync(meta, text);
  }

  private file(image: number, view: number): string {
    return join(this.dir, `${image}-${view}.f16`);
  }

  has(image: number, view: number): boolean {
    return existsSync(this.file(image, view));
  }

  /**
   * Runs the backbone over the (image, view) pairs not yet cached, `batch` at a time; `pixels` writes one
   * pair's side×side×3 bytes into its argument. With `threads`, that many worker threads each run their own
   * copy of the backbone (wasm runs one image on one core). Returns how many pairs it computed.
   */
  async fill(
    backbone: NanoDetFeatures,
    pairs: readonly [number, number][],
    pixels: (image: number, view: number, out: Uint8Array) => void,
    o: { batch?: number; threads?: { count: number; init: Omit<FeatureWorkerInit, 'cacheDir' | 'key'> }; onDone?: (done: number, todo: number) => void } = {},
  ): Promise<number> {
    const todo = pairs.filter(([i, v]) => !this.has(i, v));
    const B = o.batch ?? 8;
    const S = this.key.side;
    const chunks: [number, number][][] = [];
    for (let at = 0; at < todo.length; at += B) chunks.push(todo.slice(at, at + B));
    const input = (chunk: [number, number][]): Uint8Array => {
      const buf = new Uint8Array(chunk.length * S * S * 3);
      chunk.forEach(([i, v], k) => pixels(i, v, buf.subarray(k * S * S * 3, (k + 1) * S * S * 3)));
      return buf;
    };
    let done = 0;
    const count = Math.min(o.threads?.count ?? 1, chunks.length);
    if (count <= 1 || !o.threads) {
      for (const chunk of chunks) {
        await this.compute(backbone, chunk, input(chunk));
        o.onDone?.((done += chunk.length), todo.length);
      }
      return todo.length;
    }
    const init: FeatureWorkerInit = { ...o.threads.init, cacheDir: this.dir, key: this.key };
    const workers = Array.from({ length: count }, (_, n) => startThread(siblingModuleUrl(import.meta.url, 'feature-worker'), { workerData: init, name: `features-${n}` }));
    let next = 0;
    try {
      await Promise.all(workers.map(async (w) => {
        while (next < chunks.length) {
          const chunk = chunks[next++];
          const buf = input(chunk);
          await askThread(w, { pairs: chunk, pixels: buf }, [buf.buffer as ArrayBuffer], 'feature worker');
          o.onDone?.((done += chunk.length), todo.length);
        }
      }));
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
    return todo.length;
  }

  /** One batch of pairs through the backbone, written to the cache. */
  async compute(backbone: NanoDetFeatures, pairs: readonly [number, number][], pixels: Uint8Array): Promise<void> {
    const maps = backbone.extract(pixels, pairs.length, this.key.side);
    const data = await Promise.all(maps.map((m) => m.data() as Promise<Float32Array>));
    tf.dispose(maps);
    for (let k = 0; k < pairs.length; k++) {
      const out = new Uint16Array(this.total);
      let at = 0;
      data.forEach((d, m) => {
        encodeHalf(d.subarray(k * this.lengths[m], (k + 1) * this.lengths[m]), out.subarray(at, at + this.lengths[m]));
        at += this.lengths[m];
      });
      await writeFileAtomic(this.file(pairs[k][0], pairs[k][1]), new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    }
  }

  /** One pair's maps decoded into slot `slot` of per-map batch buffers (each batch × that map's length). */
  read(image: number, view: number, into: Float32Array[], slot: number): void {
    const b = readFileSync(this.file(image, view));
    if (b.byteLength !== this.total * 2) throw new Error(`feature cache: ${this.file(image, view)} has ${b.byteLength} bytes, expected ${this.total * 2}`);
    new Uint8Array(this.half.buffer).set(b);
    let o = 0;
    this.lengths.forEach((len, m) => {
      decodeHalf(this.half.subarray(o, o + len), into[m].subarray(slot * len, (slot + 1) * len));
      o += len;
    });
  }
}
