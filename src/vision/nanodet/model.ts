// The 'nanodet' registry model: NanoDet-g's COCO weights run by kestrel's own forward pass (or, for
// reference, tfjs's graph executor), preprocessed as upstream trained it and decoded by the GFL head.
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { tf } from '../../runtime/backend.js';
import type { Manifest } from '../../runtime/manifest.js';
import type { DetectorModel, InputPixels, PredictOptions } from '../../runtime/models.js';
import type { Candidates } from '../candidates.js';
import { decodeGfl, type GflLevel } from './gfl.js';
import type { NanoDetConfig } from './loader.js';
import type { NanoDetNetwork } from './network.js';

/** Candidates below this are dropped when the caller gives no threshold (upstream's evaluation floor). */
export const CANDIDATE_FLOOR = 0.05;

/**
 * Letterboxed RGB values → the network's input: BGR, per-channel mean and std, channels-last. One pass in
 * JavaScript: on wasm, tf.reverse alone costs more than this whole loop.
 */
export function nanodetInput(pixels: InputPixels, batch: number, side: number, o: { mean: readonly number[]; std: readonly number[] }): tf.Tensor4D {
  const { mean, std } = o;
  const out = new Float32Array(batch * side * side * 3);
  const inv = [1 / std[0], 1 / std[1], 1 / std[2]];
  for (let i = 0; i < out.length; i += 3) {
    out[i] = (pixels[i + 2] - mean[0]) * inv[0];
    out[i + 1] = (pixels[i + 1] - mean[1]) * inv[1];
    out[i + 2] = (pixels[i] - mean[2]) * inv[2];
  }
  return tf.tensor4d(out, [batch, side, side, 3]);
}

export class NanoDetDetector implements DetectorModel {
  readonly kind = 'detector' as const;
  readonly heads: readonly string[] = ['gfl'];
  readonly defaultHead = 'gfl';
  readonly inputSize: { width: number; height: number };
  readonly inputSizes: readonly number[];
  readonly labels: readonly string[];
  readonly defaultScoreThreshold: number;
  readonly letterboxAlign = 'center' as const;
  readonly letterboxFill: number;

  constructor(
    readonly manifest: Manifest,
    private readonly cfg: NanoDetConfig,
    private readonly graph: GraphModel,
    private readonly network: NanoDetNetwork | undefined,
    labels: readonly string[],
  ) {
    this.labels = labels;
    const side = manifest.input.width ?? cfg.graphSize;
    this.inputSize = { width: side, height: side };
    // The graph executor is pinned to the graph's own input; kestrel's pass takes any multiple of 32.
    this.inputSizes = network ? [...cfg.sizes].sort((a, b) => a - b) : [cfg.graphSize];
    if (!this.inputSizes.includes(side)) throw new Error(`nanodet: input ${side} is not one of the sizes ${this.inputSizes.join(', ')}`);
    this.defaultScoreThreshold = cfg.scoreThreshold;
    this.letterboxFill = cfg.letterboxFill;
  }

  defaultIouThreshold(): number {
    return this.cfg.iouThreshold;
  }

  /** Raw outputs per image and level, as typed arrays, from whichever engine runs. */
  async forward(pixels: InputPixels, batch: number, side: number): Promise<{ scores: Float32Array; bins: Float32Array; cells: number }[][]> {
    const x = nanodetInput(pixels, batch, side, this.cfg);
    let scores: tf.Tensor3D[];
    let bins: tf.Tensor3D[];
    try {
      if (this.network) ({ scores, bins } = this.network.run(x));
      else {
        const outs = tf.tidy(() => {
          const nchw = tf.transpose(x, [0, 3, 1, 2]);
          return this.graph.execute(nchw) as tf.Tensor3D[];
        });
        const byLevel = (k: number) => outs.filter((t) => t.shape[2] === k).sort((a, b) => b.shape[1] - a.shape[1]);
        scores = byLevel(this.labels.length);
        bins = byLevel(4 * (this.cfg.regMax + 1));
      }
    } finally {
      x.dispose();
    }
    try {
      const s = await Promise.all(scores.map((t) => t.data() as Promise<Float32Array>));
      const b = await Promise.all(bins.map((t) => t.data() as Promise<Float32Array>));
      const out: { scores: Float32Array; bins: Float32Array; cells: number }[][] = [];
      for (let i = 0; i < batch; i++) {
        out.push(
          scores.map((t, l) => {
            const cells = t.shape[1];
            const k = t.shape[2];
            const kb = bins[l].shape[2];
            return { cells, scores: s[l].subarray(i * cells * k, (i + 1) * cells * k), bins: b[l].subarray(i * cells * kb, (i + 1) * cells * kb) };
          }),
        );
      }
      return out;
    } finally {
      tf.dispose([...scores, ...bins]);
    }
  }

  async predict(pixels: InputPixels, batch: number, head: string, opts: PredictOptions = {}): Promise<Candidates[]> {
    if (head !== 'gfl') throw new Error(`nanodet: unknown head "${head}" (available: gfl)`);
    if (!Number.isInteger(batch) || batch < 1 || pixels.length % (batch * 3) !== 0) {
      throw new Error(`nanodet: ${pixels.length} bytes is not ${batch} RGB image(s)`);
    }
    const side = Math.round(Math.sqrt(pixels.length / (batch * 3)));
    if (side * side * 3 * batch !== pixels.length || !this.inputSizes.includes(side)) {
      throw new Error(`nanodet: expected ${batch} square image(s) of ${this.inputSizes.join(', ')} pixels a side`);
    }
    const threshold = opts.scoreThreshold ?? CANDIDATE_FLOOR;
    // The graph executor only takes one image of its own size; kestrel's pass takes the whole batch.
    const perImage = this.network ? [await this.forward(pixels, batch, side)] : await Promise.all(
      Array.from({ length: batch }, (_, i) => this.forward(pixels.subarray(i * side * side * 3, (i + 1) * side * side * 3), 1, side)),
    );
    const images = perImage.flat();
    return images.map((levels) =>
      decodeGfl(
        levels.map((lv, l): GflLevel => {
          const stride = this.cfg.strides[l];
          const w = side / stride;
          if (w * w !== lv.cells) throw new Error(`nanodet: level ${l} has ${lv.cells} cells, expected ${w}²`);
          return { stride, width: w, height: w, scores: lv.scores, bins: lv.bins };
        }),
        {
          classes: this.labels.length,
          regMax: this.cfg.regMax,
          scoreThreshold: threshold,
          topKPerLevel: this.cfg.topKPerLevel,
          inputWidth: side,
          inputHeight: side,
          centerOffset: this.cfg.centerOffset,
        },
      ),
    );
  }

  dispose(): void {
    this.graph.dispose();
  }
}
