// The 'faces' registry model: face-api's pretrained face detectors served through kestrel's own
// forward passes and decoders. Each head runs at its own square input side.
import { tf } from '../../runtime/backend.js';
import type { Manifest } from '../../runtime/manifest.js';
import type { DetectorModel, InputPixels, PredictOptions } from '../../runtime/models.js';
import type { Candidates } from '../candidates.js';
import type { InputResize } from '../image.js';
import type { FaceHead } from './head.js';

/**
 * Candidates below this score are dropped inside predict when the caller gives no threshold: SSD has
 * 5118 priors per image and nearly all are background, so passing them all to NMS would be waste.
 */
export const CANDIDATE_FLOOR = 0.05;

export class FaceDetector implements DetectorModel {
  readonly kind = 'detector' as const;
  readonly labels: readonly string[] = ['face'];
  readonly heads: readonly string[];
  readonly defaultHead: string;
  readonly inputSize: { width: number; height: number };
  /** face-api pads with zeros (padToSquare), so black is the padding these networks were run with. */
  readonly letterboxFill = 0;

  constructor(
    readonly manifest: Manifest,
    private readonly byName: ReadonlyMap<string, FaceHead>,
    readonly defaultScoreThreshold: number,
    /**
     * face-api pads right and bottom only. The tiny detector is not shift-invariant at its 32 px
     * stride, so centring the picture instead moves its boxes (measured: IoU 0.66 against face-api's
     * on a 2:1 photograph, versus 0.998 with top-left); SSD moves far less (IoU ≥ 0.98).
     */
    readonly letterboxAlign: 'center' | 'top-left' = 'top-left',
    /**
     * face-api pads the full-resolution photo and then resizes it bilinearly without anti-aliasing; a
     * lanczos letterbox instead moved scores by up to 0.055 and boxes to IoU 0.85 on photos not already
     * at the network's side.
     */
    readonly inputResize: InputResize = 'pad-square-bilinear',
  ) {
    this.heads = manifest.heads?.filter((h) => byName.has(h)) ?? [...byName.keys()];
    if (this.heads.length === 0) throw new Error('faces: no heads');
    this.defaultHead = this.heads[0];
    const side = manifest.input.width ?? byName.get(this.defaultHead)!.side;
    if ((manifest.input.height ?? side) !== side) throw new Error('faces: the input must be square');
    this.inputSize = { width: side, height: side };
  }

  private head(name: string): FaceHead {
    const h = this.byName.get(name);
    if (!h) throw new Error(`faces: unknown head "${name}" (available: ${this.heads.join(', ')})`);
    return h;
  }

  headInputSize(head: string): { width: number; height: number } {
    const s = this.head(head).side;
    return { width: s, height: s };
  }

  defaultIouThreshold(head: string): number {
    return this.head(head).iouThreshold;
  }

  /**
   * pixels may be at the model's inputSize or at the head's own size (headInputSize); in the first
   * case the batch is resized to the head's side here and the candidates scaled back, so they are
   * always in the pixels of the given input.
   */
  async predict(pixels: InputPixels, batch: number, headName: string, opts: PredictOptions = {}): Promise<Candidates[]> {
    const head = this.head(headName);
    if (!Number.isInteger(batch) || batch < 1 || pixels.length % (batch * 3) !== 0) {
      throw new Error(`faces: ${pixels.length} values is not ${batch} RGB image(s)`);
    }
    const side = Math.round(Math.sqrt(pixels.length / (batch * 3)));
    if (side * side * 3 * batch !== pixels.length || (side !== head.side && side !== this.inputSize.width)) {
      throw new Error(`faces: expected ${batch} image(s) of ${head.side}² or ${this.inputSize.width}² RGB pixels`);
    }
    const threshold = opts.scoreThreshold ?? CANDIDATE_FLOOR;
    const x = tf.tidy(() => {
      const t = tf.tensor4d(pixels, [batch, side, side, 3], 'float32');
      return side === head.side ? t : tf.image.resizeBilinear(t, [head.side, head.side]);
    });
    let out: Candidates[];
    try {
      out = await head.detect(x, threshold);
    } finally {
      x.dispose();
    }
    if (side !== head.side) {
      const k = side / head.side;
      for (const c of out) for (let i = 0; i < c.boxes.length; i++) c.boxes[i] *= k;
    }
    return out;
  }

  dispose(): void {
    for (const h of this.byName.values()) h.dispose();
  }
}
