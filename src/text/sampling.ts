// Turning next-character logits into a choice: temperature, top-k, top-p (nucleus), and a seeded PRNG
// so that the same seed reproduces the same text.
import { mulberry32 } from '../runtime/random.js';

/** The sampling generator: the project's seeded PRNG. */
export const seededRandom = mulberry32;

export interface SamplingOptions {
  /** 0 = greedy (argmax). */
  temperature: number;
  topK?: number;
  topP?: number;
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * Samples an index from logits. Scratch arrays are passed in so the per-character path allocates nothing.
 * Ties and order are resolved by index, so the result depends only on logits, options and `u`.
 */
export class Sampler {
  private readonly probs: Float64Array;
  private readonly order: Int32Array;

  constructor(
    readonly vocabSize: number,
    readonly opts: SamplingOptions,
  ) {
    if (!(opts.temperature >= 0)) throw new Error('temperature must be ≥ 0');
    if (opts.topK !== undefined && !(Number.isInteger(opts.topK) && opts.topK >= 1)) throw new Error('topK must be an integer ≥ 1');
    if (opts.topP !== undefined && !(opts.topP > 0 && opts.topP <= 1)) throw new Error('topP must be in (0, 1]');
    this.probs = new Float64Array(vocabSize);
    this.order = new Int32Array(vocabSize);
  }

  /** u is a uniform draw in [0, 1). */
  sample(logits: Float32Array, u: number): number {
    const { temperature, topK, topP } = this.opts;
    if (temperature === 0) return argmax(logits);
    const V = this.vocabSize;
    const p = this.probs;
    let max = -Infinity;
    for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i];
    let sum = 0;
    for (let i = 0; i < V; i++) {
      p[i] = Math.exp((logits[i] - max) / temperature);
      sum += p[i];
    }
    for (let i = 0; i < V; i++) p[i] /= sum;
    const useK = topK !== undefined && topK < V;
    const useP = topP !== undefined && topP < 1;
    if (!useK && !useP) {
      let r = u;
      for (let i = 0; i < V; i++) {
        r -= p[i];
        if (r < 0) return i;
      }
      return argmax(p); // rounding left r ≥ 0: the mass ends at the most likely class
    }
    // Candidates by descending probability (index breaks ties), cut by k, then by cumulative mass p.
    const ord = this.order;
    for (let i = 0; i < V; i++) ord[i] = i;
    ord.sort((a, b) => p[b] - p[a] || a - b);
    let n = useK ? topK! : V;
    if (useP) {
      let cum = 0;
      for (let i = 0; i < n; i++) {
        cum += p[ord[i]];
        if (cum >= topP!) {
          n = i + 1;
          break;
        }
      }
    }
    let kept = 0;
    for (let i = 0; i < n; i++) kept += p[ord[i]];
    let r = u * kept;
    for (let i = 0; i < n; i++) {
      r -= p[ord[i]];
      if (r < 0) return ord[i];
    }
    return ord[n - 1];
  }
}

/** log-softmax of logits at index `target`, in nats. */
export function logProb(logits: Float32Array, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return logits[target] - max - Math.log(sum);
}
