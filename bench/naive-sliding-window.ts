// The naive sliding window, kept as a measurement and not served: the kestrel detector's
// sliding-window classifier, but with the CNN re-run on a crop around every window position, so that
// nothing is shared between overlapping windows. docs/detector.md ("Sliding windows are slow") cites
// its figures against the fully convolutional head; this file reproduces them.
//
// Run: node --import tsx bench/naive-sliding-window.ts --model models/kestrel-fmnist --data DIR [--split test] [--limit 25]
import { parseArgs } from 'node:util';
import { initBackend, tf } from '../src/runtime/backend.js';
import type { DetectorModel, PredictOptions } from '../src/runtime/models.js';
import { readManifest } from '../src/runtime/registry.js';
import type { Candidates } from '../src/vision/candidates.js';
import { loadKestrelDetector } from '../src/vision/detector/loader.js';
import type { KestrelDetector } from '../src/vision/detector/model.js';
import { buildNetwork, normalizeInput, outputLayout } from '../src/vision/detector/network.js';
import { evaluateHead } from '../src/vision/train/run-eval.js';
import type { BoundHead } from '../src/vision/heads/head.js';

/** Half the crop's side, in cells of the window's map: the crop is 8 cells wide, 64 px at stride 8. */
const CONTEXT_CELLS = 4;
/** Crops per forward pass: bounds memory, as a 128² image has 256 stride-8 positions. */
const CROPS_PER_PASS = 16;
/** Letterbox grey, the value outside the image in every crop. */
const PAD = 114;

/** The naive mode as a DetectorModel, so the evaluator used for the served heads measures it too. */
export class NaiveSlidingWindow implements DetectorModel {
  readonly kind = 'detector' as const;
  readonly heads = ['sliding-window-naive'];
  readonly defaultHead = 'sliding-window-naive';
  private readonly flexible: tf.LayersModel;
  private readonly head: BoundHead<unknown>;

  constructor(readonly inner: KestrelDetector) {
    const head = inner.boundHead('sliding-window');
    if (!head) throw new Error(`${inner.manifest.name} has no sliding-window head`);
    this.head = head;
    // The same weights in a network that accepts the crops' size.
    this.flexible = buildNetwork(inner.cfg, { flexibleInput: true });
    this.flexible.setWeights(inner.net.getWeights());
  }

  get manifest() { return this.inner.manifest; }
  get labels() { return this.inner.labels; }
  get inputSize() { return this.inner.inputSize; }
  get defaultScoreThreshold() { return this.inner.defaultScoreThreshold; }

  async predict(pixels: Uint8Array, batch: number, _head: string, opts: PredictOptions = {}): Promise<Candidates[]> {
    const cfg = this.inner.cfg;
    const S = cfg.inputSize;
    const all = outputLayout(cfg);
    const layout = all.filter((o) => o.head === 'sliding-window');
    const outputIndex = all.map((o, i) => (o.head === 'sliding-window' ? i : -1)).filter((i) => i >= 0);
    const C = cfg.numClasses + 1;
    const decode = {
      scoreThreshold: opts.scoreThreshold ?? this.defaultScoreThreshold,
      cap: opts.multiLabel ? 1000 : 400,
      multiLabel: opts.multiLabel ?? false,
      withClassProbs: false,
      voteIou: opts.windowVoteIou ?? cfg.slidingWindow.voteIou,
    };
    const results: Candidates[] = [];
    for (let b = 0; b < batch; b++) {
      const img = pixels.subarray(b * S * S * 3, (b + 1) * S * S * 3);
      const probs = new Float32Array(layout.reduce((a, o) => a + Math.ceil(S / o.stride) ** 2 * o.slotsPerCell, 0) * C);
      let offset = 0;
      for (let m = 0; m < layout.length; m++) {
        const s = layout[m].stride;
        const P = 2 * CONTEXT_CELLS * s;
        const g = Math.ceil(S / s);
        const slots = layout[m].slotsPerCell;
        const centre = CONTEXT_CELLS;
        const crops = new Uint8Array(g * g * P * P * 3).fill(PAD);
        for (let gy = 0; gy < g; gy++) {
          for (let gx = 0; gx < g; gx++) {
            const ox = (gx - centre) * s, oy = (gy - centre) * s;
            const base = (gy * g + gx) * P * P * 3;
            for (let y = 0; y < P; y++) {
              const sy = oy + y;
              if (sy < 0 || sy >= S) continue;
              const x0 = Math.max(0, -ox), x1 = Math.min(P, S - ox);
              if (x1 <= x0) continue;
              crops.set(img.subarray((sy * S + ox + x0) * 3, (sy * S + ox + x1) * 3), base + (y * P + x0) * 3);
            }
          }
        }
        for (let start = 0; start < g * g; start += CROPS_PER_PASS) {
          const n = Math.min(CROPS_PER_PASS, g * g - start);
          const out = tf.tidy(() => {
            const x = normalizeInput(tf.tensor4d(crops.subarray(start * P * P * 3, (start + n) * P * P * 3), [n, P, P, 3], 'int32'));
            const t = (this.flexible.predict(x) as tf.Tensor[])[outputIndex[m]] as tf.Tensor4D;
            return tf.softmax(t.slice([0, centre, centre, 0], [n, 1, 1, -1]).reshape([n, slots, C]));
          });
          probs.set((await out.data()) as Float32Array, (offset + start * slots) * C);
          out.dispose();
        }
        offset += g * g * slots;
      }
      results.push(this.head.decode([probs], decode));
    }
    return results;
  }

  dispose(): void {
    this.flexible.dispose();
    this.inner.dispose();
  }
}

export async function openNaive(dir: string): Promise<NaiveSlidingWindow> {
  const model = await loadKestrelDetector(await readManifest(dir), dir);
  if (model.kind !== 'detector') throw new Error(`${dir} is not a detector`);
  return new NaiveSlidingWindow(model as KestrelDetector);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { model: { type: 'string' }, data: { type: 'string' }, split: { type: 'string', default: 'test' }, limit: { type: 'string', default: '25' } },
  });
  if (!values.model || !values.data) {
    console.error('usage: node --import tsx bench/naive-sliding-window.ts --model DIR --data DIR [--split test] [--limit 25]');
    process.exit(2);
  }
  await initBackend((process.env.KESTREL_BACKEND as 'auto' | undefined) ?? 'auto');
  const naive = await openNaive(values.model);
  try {
    const r = await evaluateHead(naive, values.data, values.split ?? 'test', naive.defaultHead, { limit: Number(values.limit) });
    console.log(JSON.stringify(r, null, 2));
  } finally {
    naive.dispose();
  }
}
