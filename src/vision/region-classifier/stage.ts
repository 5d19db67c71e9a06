// The second stage at inference: a head's candidates → one class-agnostic NMS that picks the boxes to read
// (so each item is read once) → crops → region classifier → every candidate mixes its own class
// distribution with the reading of the picked box that covers it → rescored candidates. The detector's
// usual per-class NMS runs afterwards, on the same candidates as without this stage: with weight 0 the
// result is the head's own.
import { join } from 'node:path';
import { pick, type Candidates } from '../candidates.js';
import { tf } from '../../runtime/backend.js';
import { diskLoader } from '../detector/weights-io.js';
import { FusedNetwork } from '../detector/fused.js';
import { normalizeInput } from '../detector/network.js';
import { nms } from '../nms.js';
import { iouXyxy } from '../boxes.js';
import type { RegionClassifierConfig } from './config.js';
import { contextSquares, cropRegions } from './crops.js';
import { rescore } from './combine.js';
// Registers the custom layer classes so model.json can be deserialised.
import '../backbone/fast-conv.js';
import '../backbone/batch-norm.js';

/** Overlap above which two boxes are taken for the same item before classification. */
const SAME_ITEM_IOU = 0.6;

/**
 * For every candidate, the position in `keep` of the kept box that covers it best (IoU ≥ SAME_ITEM_IOU;
 * a kept box covers itself), or −1.
 */
export function owners(boxes: Float32Array, keep: Int32Array): Int32Array {
  const n = boxes.length / 4;
  const owner = new Int32Array(n).fill(-1);
  const best = new Float64Array(n);
  keep.forEach((k, j) => {
    for (let i = 0; i < n; i++) {
      const v = i === k ? 2 : iouXyxy(boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3], boxes[4 * k], boxes[4 * k + 1], boxes[4 * k + 2], boxes[4 * k + 3]);
      if (v >= SAME_ITEM_IOU && v > best[i]) {
        best[i] = v;
        owner[i] = j;
      }
    }
  });
  return owner;
}

export interface RefineOptions {
  scoreThreshold: number;
  multiLabel: boolean;
  weight: number;
}

export class RegionStage {
  private readonly fused: FusedNetwork | undefined;

  constructor(readonly cfg: RegionClassifierConfig, private readonly net: tf.LayersModel, readonly numClasses: number) {
    const out = net.outputs[0].shape;
    if (out[out.length - 1] !== numClasses) throw new Error(`region classifier gives ${out[out.length - 1]} classes; the detector has ${numClasses}`);
    const inp = net.inputs[0].shape;
    if (inp[1] !== cfg.inputSize || inp[2] !== cfg.inputSize) throw new Error(`region classifier input is ${inp[1]}×${inp[2]}; its config says ${cfg.inputSize}`);
    // A readout other than the manifest's means the folder holds other weights.
    const grid = net.layers.some((l) => l.getClassName() === 'Flatten');
    if (grid !== (cfg.readout === 'grid')) throw new Error(`region classifier in ${cfg.dir}/ has the ${grid ? 'grid' : 'average'} readout; its config says ${cfg.readout}`);
    if (grid) {
      const convs = net.layers.filter((l) => /^rc4[a-z]_conv$/.test(l.name));
      const width = convs[0]?.outputShape as number[] | undefined;
      const want = { depth: cfg.gridDepth, width: cfg.gridChannels ?? cfg.channels[2] };
      const have = { depth: convs.length, width: width?.[width.length - 1] };
      if (have.depth !== want.depth || have.width !== want.width) {
        throw new Error(`region classifier in ${cfg.dir}/ has a grid stage of ${have.depth} conv(s) × ${have.width} channels; its config says ${want.depth} × ${want.width}`);
      }
    }
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
      return tf.softmax((this.fused?.run(crops)[0] ?? this.net.predict(crops)) as tf.Tensor);
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
      return { c, obj, keep, owner: owners(c.boxes, keep) };
    });
    const total = kept.reduce((a, k) => a + k.keep.length, 0);
    const readBoxes = new Float32Array(total * 4);
    const imageOf = new Int32Array(total);
    let o0 = 0;
    kept.forEach((k, b) => {
      k.keep.forEach((i, j) => readBoxes.set(k.c.boxes.subarray(4 * i, 4 * i + 4), (o0 + j) * 4));
      imageOf.fill(b, o0, o0 + k.keep.length);
      o0 += k.keep.length;
    });
    const clf = await this.classify(pixels, batch, side, readBoxes, imageOf);
    let start = 0;
    return kept.map(({ c, obj, keep, owner }) => {
      // Candidates left without a reading (past maxBoxes, all low-scoring) are dropped.
      const idx = [...owner.keys()].filter((i) => owner[i] >= 0);
      const clfProbs = new Float32Array(idx.length * K);
      idx.forEach((i, j) => clfProbs.set(clf.subarray((start + owner[i]) * K, (start + owner[i] + 1) * K), j * K));
      const { boxes, classProbs: headProbs } = pick(c, idx);
      start += keep.length;
      return rescore({ boxes, objectness: Float32Array.from(idx, (i) => obj[i]), headProbs: headProbs as Float32Array, clfProbs }, K, o.weight, o.scoreThreshold, o.multiLabel);
    });
  }

  dispose(): void {
    this.fused?.dispose();
    this.net.dispose();
  }
}
