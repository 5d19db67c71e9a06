// The character vocabulary: the sorted distinct characters of the training corpus, stored with the model
// so that ids mean the same thing at training, evaluation and serving time.

export class Vocabulary {
  readonly chars: string;
  private readonly index = new Map<string, number>();

  constructor(chars: string) {
    const list = Array.from(chars);
    if (list.length === 0) throw new Error('empty vocabulary');
    list.forEach((c, i) => {
      if (this.index.has(c)) throw new Error(`duplicate vocabulary character ${JSON.stringify(c)}`);
      this.index.set(c, i);
    });
    this.chars = chars;
  }

  /** Distinct characters of `text`, sorted by code point (so the same corpus always gives the same ids). */
  static fromText(text: string): Vocabulary {
    const set = Array.from(new Set(Array.from(text))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return new Vocabulary(set.join(''));
  }

  get size(): number {
    return this.index.size;
  }

  has(ch: string): boolean {
    return this.index.has(ch);
  }

  /** Distinct characters of `text` that are not in the vocabulary, in order of first appearance. */
  unknown(text: string): string[] {
    const out = new Set<string>();
    for (const c of text) if (!this.index.has(c)) out.add(c);
    return [...out];
  }

  idOf(ch: string): number {
    const id = this.index.get(ch);
    if (id === undefined) throw new Error(`character ${JSON.stringify(ch)} is not in the vocabulary`);
    return id;
  }

  charAt(id: number): string {
    const list = Array.from(this.chars);
    const c = list[id];
    if (c === undefined) throw new Error(`id ${id} outside the vocabulary of ${list.length}`);
    return c;
  }

  /** Ids of every character; throws naming all characters outside the vocabulary. */
  encode(text: string): Int32Array {
    const bad = this.unknown(text);
    if (bad.length) throw new Error(`characters outside the vocabulary: ${bad.map((c) => JSON.stringify(c)).join(', ')}`);
    const list = Array.from(text);
    const ids = new Int32Array(list.length);
    for (let i = 0; i < list.length; i++) ids[i] = this.index.get(list[i])!;
    return ids;
  }

  decoder(): (id: number) => string {
    const list = Array.from(this.chars);
    return (id) => {
      const c = list[id];
      if (c === undefined) throw new Error(`id ${id} outside the vocabulary of ${list.length}`);
      return c;
    };
  }
}

/** Shannon entropy (nats per character) of the corpus's character frequencies: the no-context baseline. */
export function unigramEntropyNats(ids: Int32Array, vocabSize: number): number {
  const counts = new Float64Array(vocabSize);
  for (const id of ids) counts[id]++;
  let h = 0;
  for (const c of counts) {
    if (c === 0) continue;
    const p = c / ids.length;
    h -= p * Math.log(p);
  }
  return h;
}
