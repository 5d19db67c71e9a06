// The kestrel detector as the service sees it: RGB bytes in, per-image candidates (before NMS) out.
import type { Manifest } from '../../runtime/manifest.js';
import type { DetectorModel } from '../../runtime/models.js';
import { topK, type Candidates } from '../candidates.js';
import { tf } from '../../runtime/backend.js';
import { HEADS, type DetectorConfig, type HeadName } from './config.js';
import { normalizeInput, outputLayout } from './network.js';
import { FusedNetwork } from './fused.js';
import { bindHead } from '../heads/index.js';
import type { BoundHead, HeadDecodeOptions } from '../heads/head.js';
import type { RegionStage } from '../region-classifier/stage.js';
import type { NanoDetFeatures } from '../nanodet/features.js';

export interface KestrelPredictOptions {
  scoreThreshold?: number;
  /** At most this many candidates per image, best first (default 400). */
  maxCandidates?: number;
  /** Every class above the threshold per box instead of the best one (see heads/class-choice.ts). */
  multiLabel?: boolean;
  /** Use (true) or skip (false) the region classifier when the model has one; default: its manifest's usedByDefault. */
  regionClassifier?: boolean;
  /** The region classifier's weight in the class mix (default: the manifest's). */
  regionWeight?: number;
  /** Window voting overlap for the sliding-window heads (default: the manifest's; 0 = off). */
  windowVoteIou?: number;
}

export class KestrelDetector implements DetectorModel {
  readonly kind = 'detector' as const;
  readonly labels: readonly string[];
  readonly heads: readonly string[];
  readonly defaultHead: string;
  readonly inputSize: { width: number; height: number };
  readonly defaultScoreThreshold: number;
  private readonly subModels = new Map<HeadName, tf.LayersModel>();
  /** The same sub-models with conv → batch norm → ReLU folded into fused convolutions, for inference. */
  private readonly fused = new Map<HeadName, FusedNetwork>();
  /** Each trained head bound to this model's config (priors and windows built once). */
  private readonly bound = new Map<HeadName, BoundHead<unknown>>();

  constructor(
    readonly manifest: Manifest,
    readonly cfg: DetectorConfig,
    /** The whole trained network (every head's outputs); predict runs per-head sub-models of it. */
    readonly net: tf.LayersModel,
    /** Optional second stage that re-reads each box's pixels to name its item. */
    readonly regionStage?: RegionStage,
    /** A frozen pretrained backbone (cfg.backbone) whose features `net` reads instead of the image. */
    readonly backbone?: NanoDetFeatures,
  ) {
    this.labels = manifest.labels ?? Array.from({ length: cfg.numClasses }, (_, i) => `class${i}`);
    const trained = (manifest.heads ?? [...HEADS]).filter((h): h is HeadName => (HEADS as readonly string[]).includes(h));
    if (trained.length === 0) throw new Error(`${manifest.name}: manifest names no known head (${HEADS.join(', ')})`);
    this.heads = trained;
    this.defaultHead = trained[0];
    this.inputSize = { width: cfg.inputSize, height: cfg.inputSize };
    this.defaultScoreThreshold = cfg.scoreThreshold;
    const layout = outputLayout(cfg);
    // One sub-model per head over the shared layers, so a request runs only its own head's 1×1 convolutions.
    for (const h of trained) {
      const idx = layout.map((o, i) => (o.head === h ? i : -1)).filter((i) => i >= 0);
      const outputs = idx.map((i) => net.outputs[i]);
      const sub = tf.model({ inputs: net.inputs, outputs });
      this.subModels.set(h, sub);
      const f = backbone ? undefined : FusedNetwork.compile(sub);
      if (f) this.fused.set(h, f);
      this.bound.set(h, bindHead(h, cfg));
    }
  }

  async predict(pixels: Uint8Array, batch: number, head: string, opts: KestrelPredictOptions = {}): Promise<Candidates[]> {
    const S = this.cfg.inputSize;
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got ${batch}`);
    if (pixels.length !== batch * S * S * 3) throw new Error(`pixels: expected ${batch}×${S}×${S}×3 = ${batch * S * S * 3} bytes, got ${pixels.length}`);
    const thr = opts.scoreThreshold ?? this.defaultScoreThreshold;
    const ml = opts.multiLabel ?? false;
    // Several classes per box need a larger cap for the same number of boxes.
    const cap = opts.maxCandidates ?? (ml ? 1000 : 400);
    const voteIou = opts.windowVoteIou ?? this.cfg.slidingWindow.voteIou;
    if (!(voteIou >= 0 && voteIou <= 1)) throw new Error(`windowVoteIou must lie in [0, 1], got ${voteIou}`);
    const stage = (opts.regionClassifier ?? this.regionClassifierByDefault) ? this.regionStage : undefined;
    if (stage) {
      const weight = opts.regionWeight ?? stage.cfg.weight;
      if (!(weight >= 0 && weight <= 1)) throw new Error(`regionWeight must lie in [0, 1], got ${weight}`);
      // The head proposes one candidate per box with its class distribution; the mix may raise a box's
      // score above the head's, so the head's cut is looser than the caller's.
      const proposals = await this.predictHead(pixels, batch, head, { scoreThreshold: thr / 4, cap, multiLabel: false, withClassProbs: true, voteIou });
      const refined = await stage.refine(pixels, batch, S, proposals, { scoreThreshold: thr, multiLabel: ml, weight });
      return refined.map((c) => topK(c, cap));
    }
    return this.predictHead(pixels, batch, head, { scoreThreshold: thr, cap, multiLabel: ml, withClassProbs: false, voteIou });
  }

  private async predictHead(pixels: Uint8Array, batch: number, head: string, o: HeadDecodeOptions): Promise<Candidates[]> {
    const S = this.cfg.inputSize;
    const sub = this.subModels.get(head as HeadName);
    const bound = this.bound.get(head as HeadName);
    if (!sub || !bound) throw new Error(`unknown head "${head}" (this model has: ${this.heads.join(', ')})`);
    const fused = this.fused.get(head as HeadName);
    const outs = tf.tidy(() => {
      const x = this.backbone ? this.backbone.extract(pixels, batch, S) : normalizeInput(tf.tensor4d(pixels, [batch, S, S, 3], 'int32'));
      const raw = fused && !Array.isArray(x) ? fused.run(x) : (sub.predict(x) as tf.Tensor | tf.Tensor[]);
      return bound.activate(Array.isArray(raw) ? raw : [raw], batch);
    });
    const data = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(outs);
    const result: Candidates[] = [];
    for (let b = 0; b < batch; b++) {
      const mine = data.map((d) => {
        const per = d.length / batch;
        return d.subarray(b * per, (b + 1) * per);
      });
      result.push(bound.decode(mine, o));
    }
    return result;
  }

  /** A trained head bound to this model's config, for code that runs the network its own way (bench/). */
  boundHead(head: HeadName): BoundHead<unknown> | undefined {
    return this.bound.get(head);
  }

  get hasRegionClassifier(): boolean {
    return this.regionStage !== undefined;
  }

  get regionClassifierByDefault(): boolean {
    return this.regionStage?.cfg.usedByDefault ?? false;
  }

  dispose(): void {
    for (const f of this.fused.values()) f.dispose();
    this.fused.clear();
    this.net.dispose();
    this.regionStage?.dispose();
    this.backbone?.dispose();
  }
}

