// Corpus split and truncated-BPTT batching.
//
// Batches follow the stateful layout of char-rnn: the training ids are cut into B contiguous streams,
// and chunk k takes positions [k·T, (k+1)·T) of every stream, so the state that ends chunk k is the
// correct starting state of chunk k+1 and can be carried across chunks.

/** The last `fraction` of the corpus is validation, the rest training (no shuffling: text is ordered). */
export function splitCorpus(ids: Int32Array, valFraction = 0.1): { train: Int32Array; val: Int32Array } {
  const cut = validationStart(ids.length, valFraction);
  return { train: ids.subarray(0, cut), val: ids.subarray(cut) };
}

/** Index of the first validation character in a corpus of `length` characters. */
export function validationStart(length: number, valFraction = 0.1): number {
  if (!(valFraction > 0 && valFraction < 1)) throw new Error('valFraction must be in (0, 1)');
  return Math.floor(length * (1 - valFraction));
}

export class StreamBatcher {
  readonly chunks: number;
  private readonly streamLen: number;

  /**
   * ids → `batch` streams; each chunk yields `seq` inputs per stream plus the next character as target.
   * Only whole chunks are used; the tail that does not fill one is left out.
   */
  constructor(
    private readonly ids: Int32Array,
    readonly batch: number,
    readonly seq: number,
  ) {
    this.streamLen = Math.floor(ids.length / batch);
    this.chunks = Math.floor((this.streamLen - 1) / seq);
    if (this.chunks < 1) throw new Error(`corpus of ${ids.length} characters is too short for batch ${batch} × seq ${seq}`);
  }

  /** Characters predicted per full pass. */
  get charsPerPass(): number {
    return this.chunks * this.seq * this.batch;
  }

  /** Chunk k as time-major [seq, batch] inputs and targets (flattened, row t holds every stream's step t). */
  chunk(k: number): { inputs: Int32Array; targets: Int32Array } {
    if (k < 0 || k >= this.chunks) throw new Error(`chunk ${k} outside 0..${this.chunks - 1}`);
    const { batch: B, seq: T } = this;
    const inputs = new Int32Array(T * B);
    const targets = new Int32Array(T * B);
    for (let b = 0; b < B; b++) {
      const base = b * this.streamLen + k * T;
      for (let t = 0; t < T; t++) {
        inputs[t * B + b] = this.ids[base + t];
        targets[t * B + b] = this.ids[base + t + 1];
      }
    }
    return { inputs, targets };
  }
}
