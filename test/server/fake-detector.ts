// A deterministic stand-in for a trained detector: it "detects" solid colour regions, so a test can
// draw an object where it likes and know the box the service must answer. It runs its mask through
// tfjs so tensor bookkeeping is exercised as with a real model.
import { tf } from '../../src/runtime/backend.js';
import type { DetectorModel, LoadedModel, ModelRegistry } from '../../src/runtime/models.js';
import type { Candidates } from '../../src/vision/candidates.js';
import type { Manifest } from '../../src/runtime/manifest.js';

export const FAKE_LABELS = ['white', 'red', 'green'] as const;

// A pixel belongs to a class when every channel is within this distance of the class colour.
const COLOURS: [number, number, number][] = [
  [255, 255, 255],
  [255, 0, 0],
  [0, 255, 0],
];
const TOL = 60;

export interface FakeOptions {
  name?: string;
  width?: number;
  height?: number;
  heads?: string[];
  isDefault?: boolean;
  labels?: string[];
}

export class FakeDetector implements DetectorModel {
  readonly kind = 'detector' as const;
  readonly manifest: Manifest;
  readonly labels: readonly string[];
  readonly heads: readonly string[];
  readonly defaultHead: string;
  readonly inputSize: { width: number; height: number };
  readonly defaultScoreThreshold = 0.25;
  calls: { batch: number; head: string }[] = [];
  /** Every input the model saw, for tests that compare the decoded pixels. */
  inputs: Uint8Array[] = [];

  constructor(o: FakeOptions = {}) {
    this.inputSize = { width: o.width ?? 160, height: o.height ?? 128 };
    this.heads = o.heads ?? ['yolo', 'ssd'];
    this.defaultHead = this.heads[0];
    this.labels = o.labels ?? [...FAKE_LABELS];
    this.manifest = {
      name: o.name ?? 'fake',
      kind: 'detector',
      version: '1',
      default: o.isDefault ?? true,
      input: { width: this.inputSize.width, height: this.inputSize.height, channels: 3 },
      labels: [...this.labels],
      heads: [...this.heads],
      files: ['none'],
      config: {},
    };
  }

  async predict(pixels: Uint8Array, batch: number, head: string): Promise<Candidates[]> {
    if (!this.heads.includes(head)) throw new Error(`no head ${head}`);
    const { width: W, height: H } = this.inputSize;
    if (pixels.length !== batch * W * H * 3) throw new Error('bad pixel buffer size');
    this.calls.push({ batch, head });
    this.inputs.push(pixels.slice());
    const masks = tf.tidy(() => {
      const x = tf.tensor4d(pixels, [batch, H, W, 3], 'int32').toFloat();
      const per = COLOURS.map((c) => tf.abs(tf.sub(x, tf.tensor1d(c))).max(-1).lessEqual(TOL));
      return tf.stack(per, 1).cast('int32'); // batch × classes × H × W
    });
    const m = (await masks.data()) as Int32Array;
    masks.dispose();
    const out: Candidates[] = [];
    for (let b = 0; b < batch; b++) {
      const boxes: number[] = [];
      const scores: number[] = [];
      const classes: number[] = [];
      for (let c = 0; c < COLOURS.length; c++) {
        let x1 = W, y1 = H, x2 = -1, y2 = -1, n = 0;
        const base = (b * COLOURS.length + c) * H * W;
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++)
            if (m[base + y * W + x]) {
              n++;
              if (x < x1) x1 = x;
              if (y < y1) y1 = y;
              if (x > x2) x2 = x;
              if (y > y2) y2 = y;
            }
        if (n < 4) continue;
        // The bright region, a near-duplicate for NMS to remove, and a weak box thresholds must drop.
        boxes.push(x1, y1, x2 + 1, y2 + 1, x1 + 1, y1, x2 + 1, y2 + 1, x1, y1, (x1 + x2) / 2, (y1 + y2) / 2);
        scores.push(0.9 - 0.1 * c, 0.6 - 0.1 * c, 0.1);
        classes.push(c, c, c);
      }
      out.push({ boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), classes: Int32Array.from(classes) });
    }
    return out;
  }

  dispose(): void {}
}

export class FakeRegistry implements ModelRegistry {
  readonly failures: { name: string; dir: string; error: string }[] = [];
  constructor(private readonly models: LoadedModel[]) {}
  list(): readonly LoadedModel[] {
    return this.models;
  }
  get(name: string): LoadedModel | undefined {
    return this.models.find((m) => m.manifest.name === name);
  }
  defaultOf<K extends LoadedModel['kind']>(kind: K): Extract<LoadedModel, { kind: K }> | undefined {
    const of = this.models.filter((m) => m.kind === kind) as Extract<LoadedModel, { kind: K }>[];
    return of.find((m) => m.manifest.default) ?? of[0];
  }
}
