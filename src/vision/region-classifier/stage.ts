// The second stage at inference: boxes from any head → one class-agnostic NMS (so each item is read once)
// → crops → region classifier → class mix with the head's distribution → rescored candidates. The
// detector's usual per-class NMS runs afterwards, as it would on the head's own candidates.
import { join } from 'node:path';
import type { Candidates } from '../../runtime/models.js';
import { tf } from '../../runtime/backend.js';
import { diskLoader } from '../detector/weights-io.js';
import { FusedNetwork } from '../detector/fused.js';
import { normalizeInput } from '../detector/network.js';
import { nms } from '../nms.js';
import type { RegionClassifierConfig } from './config.js';
import { contextSquares, cropRegions } from './crops.js';
import { rescore } from './combine.js';
// Registers the custom layer classes so model.json can be deserialised.
import '../backbone/fast-conv.js';
import '../backbone/batch-norm.js';

/** Overlap above which two boxes are taken for the same item before classification. */
const SAME_ITEM_IOU = 0.6;

export interface RefineOptions {
  scoreThreshold: number;
  multiLabel: boolean;
  weight: number;
}

export class RegionStage {
  private readonly fused?: FusedNetwork;

  constructor(readonly cfg: RegionClassifierConfig, private readonly net: tf.LayersModel, readonly numClasses: number) {
    const out = net.outputs[0].shape;
    if (out[out.length - 1] !== numClasses) throw new Error(`region classifier gives ${out[out.length - 1]} classes; the detector has ${numClasses}`);
    const inp = net.inputs[0].shape;
    if (inp[1] !== cfg.inputSize || inp[2] !== cfg.inputSize) throw new Error(`region classifier input is ${inp[1]}×${inp[2]}; its config says ${cfg.inputSize}`);
    this.fused = FusedNetwork.compile(net);
  }

  static async load(modelDir: string, cfg: RegionClassifierConfig, numClasses: number): Promise<RegionStage> {
    const net = await tf.loadLayersModel(diskLoader(join(modelDir, cfg.dir)));
    try {
      return new RegionStage(cfg, net, numClasses);
    } catch (e) {
      net.dispose();
      throw e;
    }
  }

  /** Class distributions (n×K) for boxes of a batch of images (`imageOf[i]` is box i's image). */
  async classify(pixels: Uint8Array, batch: number, side: number, boxes: Float32Array, imageOf: Int32Array): Promise<Float32Array> {
    if (imageOf.length === 0) return new Float32Array(0);
    const probs = tf.tidy(() => {
      const imgs = normalizeInput(tf.tensor4d(pixels, [batch, side, side, 3], 'int32')) as tf.Tensor4D;
      const crops = cropRegions(imgs, contextSquares(boxes, imageOf.length, this.cfg.context, side, side), imageOf, this.cfg.inputSize);
      const logits = this.fused ? this.fused.run(crops)[0] : (this.net.predict(crops) as tf.Tensor);
      return tf.softmax(logits);
    });
    const v = (await probs.data()) as Float32Array;
    probs.dispose();
    return v;
  }

  /** Candidates carrying classProbs (one per box) → rescored candidates, per image. */
  async refine(pixels: Uint8Array, batch: number, side: number, perImage: Candidates[], o: RefineOptions): Promise<Candidates[]> {
    const K = this.numClasses;
    const kept = perImage.map((c) => {
      const probs = c.classProbs;
      if (!probs) throw new Error('refine needs candidates with classProbs');
      const n = c.scores.length;
      const obj = Float32Array.from({ length: n }, (_, i) => {
        const p = probs[i * K + c.classes[i]];
        return p > 0 ? Math.min(1, c.scores[i] / p) : 0;
      });
      const keep = nms(c.boxes, obj, { iouThreshold: SAME_ITEM_IOU, maxOutputs: this.cfg.maxBoxes });
      const boxes = new Float32Array(keep.length * 4);
      const headProbs = new Float32Array(keep.length * K);
      keep.forEach((k, j) => {
        boxes.set(c.boxes.subarray(4 * k, 4 * k + 4), 4 * j);
        headProbs.set(probs.subarray(k * K, (k + 1) * K), j * K);
      });
      return { boxes, headProbs, objectness: Float32Array.from(keep, (k) => obj[k]) };
    });
    const total = kept.reduce((a, k) => a + k.objectness.length, 0);
    const allBoxes = new Float32Array(total * 4);
    const imageOf = new Int32Array(total);
    let o0 = 0;
    kept.forEach((k, b) => {
      allBoxes.set(k.boxes, o0 * 4);
      imageOf.fill(b, o0, o0 + k.objectness.length);
      o0 += k.objectness.length;
    });
    const clf = await this.classify(pixels, batch, side, allBoxes, imageOf);
    let start = 0;
    return kept.map((k) => {
      const n = k.objectness.length;
      const clfProbs = clf.subarray(start * K, (start + n) * K);
      start += n;
      return rescore({ ...k, clfProbs }, K, o.weight, o.scoreThreshold, o.multiLabel);
    });
  }

  dispose(): void {
    this.fused?.dispose();
    this.net.dispose();
  }
}
