// The served char-RNN: CharRnnModel over the Float32Array stepper, and its loader ('char-rnn/kestrel').
import type { Manifest } from '../runtime/manifest.js';
import type { CharRnnModel, GenerateOptions, ModelLoader } from '../runtime/models.js';
import { Sampler, logProb, seededRandom } from './sampling.js';
import { Stepper, stepperWeights, type StepperWeights } from './stepper.js';
import { Vocabulary } from './vocab.js';
import { readModel } from './weights-io.js';

/** Characters sampled between yields to the event loop, so streams flush and disconnects are seen. */
const YIELD_EVERY = 32;

export class OutOfVocabularyError extends Error {
  constructor(readonly chars: string[]) {
    super(`characters outside the model's vocabulary: ${chars.map((c) => JSON.stringify(c)).join(', ')}`);
    this.name = 'OutOfVocabularyError';
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export class KestrelCharRnn implements CharRnnModel {
  readonly kind = 'char-rnn' as const;
  readonly vocab: Vocabulary;
  /** The character fed before any text: sequences in the corpus start after a newline. */
  readonly startId: number;

  constructor(
    readonly manifest: Manifest,
    vocabulary: string,
    private readonly weights: StepperWeights,
  ) {
    this.vocab = new Vocabulary(vocabulary);
    if (this.vocab.size !== weights.vocabSize) throw new Error(`vocabulary of ${this.vocab.size} characters but the weights expect ${weights.vocabSize}`);
    this.startId = this.vocab.has('\n') ? this.vocab.idOf('\n') : 0;
  }

  get vocabulary(): string {
    return this.vocab.chars;
  }

  newStepper(): Stepper {
    return new Stepper(this.weights);
  }

  private encodeOrThrow(text: string): Int32Array {
    const bad = this.vocab.unknown(text);
    if (bad.length) throw new OutOfVocabularyError(bad);
    return this.vocab.encode(text);
  }

  async generate(opts: GenerateOptions): Promise<{ text: string; finishReason: 'length' | 'aborted' }> {
    const ids = this.encodeOrThrow(opts.prompt);
    if (!(Number.isInteger(opts.length) && opts.length >= 1)) throw new Error('length must be an integer ≥ 1');
    const sampler = new Sampler(this.vocab.size, { temperature: opts.temperature, topK: opts.topK, topP: opts.topP });
    const rand = seededRandom(opts.seed ?? Math.floor(Math.random() * 2 ** 32));
    const dec = this.vocab.decoder();
    const s = this.newStepper();
    // The prompt only advances the state; its characters are not part of the output.
    let logits = s.step(this.startId);
    for (const id of ids) logits = s.step(id);
    let text = '';
    for (let i = 0; i < opts.length; i++) {
      if (opts.signal?.aborted) return { text, finishReason: 'aborted' };
      const id = sampler.sample(logits, rand());
      const ch = dec(id);
      text += ch;
      opts.onToken?.(ch);
      if (i + 1 < opts.length) logits = s.step(id);
      if ((i + 1) % YIELD_EVERY === 0) await tick();
    }
    return { text, finishReason: opts.signal?.aborted ? 'aborted' : 'length' };
  }

  /** Mean negative log-likelihood of every character of `text`, each given all before it (and the start character). */
  async score(text: string): Promise<{ nats: number; bitsPerChar: number; perplexity: number }> {
    const ids = this.encodeOrThrow(text);
    if (ids.length === 0) throw new Error('text must not be empty');
    const s = this.newStepper();
    let logits = s.step(this.startId);
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      total -= logProb(logits, ids[i]);
      if (i + 1 < ids.length) logits = s.step(ids[i]);
      if ((i + 1) % 1024 === 0) await tick();
    }
    const nats = total / ids.length;
    return { nats, bitsPerChar: nats / Math.LN2, perplexity: Math.exp(nats) };
  }

  dispose(): void {
    // Plain arrays: nothing to release.
  }
}

export async function loadCharRnnFromDir(dir: string, manifest?: Manifest): Promise<KestrelCharRnn> {
  const m = await readModel(dir, manifest);
  return new KestrelCharRnn(m.manifest, m.vocabulary, stepperWeights(m.config.cell, m.config.layers, m.arrays));
}

export const loadCharRnn: ModelLoader = (manifest, dir) => loadCharRnnFromDir(dir, manifest);
