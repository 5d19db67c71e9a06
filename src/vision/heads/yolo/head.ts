// The YOLO head: per grid cell and anchor, centre offsets, size scales over the anchor, objectness and
// class logits, decoded on the CPU (see decode.ts), trained with loss.ts on encode.ts's targets.
import { mergeCandidates, topK } from '../../candidates.js';
import type { DetectorHead } from '../head.js';
import type { YoloConfig } from './config.js';
import { decodeYolo } from './decode.js';
import { encodeYolo, yoloSlots, type YoloSpec } from './encode.js';
import { yoloLoss, type YoloBatchTargets } from './loss.js';
import { kmeansAnchors } from './anchors.js';

export const yoloHead: DetectorHead<YoloConfig, YoloBatchTargets> = {
  name: 'yolo',
  prefix: 'yolo',
  configKey: 'yolo',
  outputs: (own, ctx) => own.scales.map((s) => ({ stride: s.stride, slotsPerCell: s.anchors.length / 2, depth: 5 + ctx.numClasses })),
  initBias(bias, at) {
    // Objectness starts near "nothing here": sigmoid(−4) ≈ 0.02.
    bias[at + 4] = -4;
  },
  bind(own, ctx) {
    const spec: YoloSpec = { inputWidth: ctx.inputSize, inputHeight: ctx.inputSize, numClasses: ctx.numClasses, scales: own.scales };
    const n = yoloSlots(spec);
    return {
      activate: (outputs) => outputs,
      decode(perScale, o) {
        const parts = own.scales.map((s, i) => {
          const g = Math.ceil(ctx.inputSize / s.stride);
          return decodeYolo(perScale[i], {
            gridH: g, gridW: g, anchors: s.anchors, numClasses: ctx.numClasses, inputWidth: ctx.inputSize, inputHeight: ctx.inputSize,
            classActivation: 'softmax', scoreThreshold: o.scoreThreshold, multiLabel: o.multiLabel, withClassProbs: o.withClassProbs,
          });
        });
        return topK(mergeCandidates(parts), o.cap);
      },
      encode(gts) {
        const b = gts.length;
        const t: YoloBatchTargets = { obj: new Float32Array(b * n), xy: new Float32Array(b * n * 2), wh: new Float32Array(b * n * 2), cls: new Int32Array(b * n), boxWeight: new Float32Array(b * n) };
        gts.forEach((gt, i) => {
          const y = encodeYolo(gt, spec);
          t.obj.set(y.obj, i * n);
          t.xy.set(y.xy, i * n * 2);
          t.wh.set(y.wh, i * n * 2);
          t.cls.set(y.cls, i * n);
          t.boxWeight.set(y.boxWeight, i * n);
        });
        return t;
      },
      loss: yoloLoss,
    };
  },
  fitToData(own, gts, seed) {
    // k-means (IoU distance) on the training boxes, split small→large over the strides.
    const sizes: number[] = [];
    for (const gt of gts) {
      for (let i = 0; i < gt.classes.length; i++) sizes.push(gt.boxes[4 * i + 2] - gt.boxes[4 * i], gt.boxes[4 * i + 3] - gt.boxes[4 * i + 1]);
    }
    const per = own.scales.map((s) => s.anchors.length / 2);
    const k = per.reduce((a, b) => a + b, 0);
    let fitted = own;
    let meanIou = NaN;
    if (sizes.length / 2 >= k) {
      const fit = kmeansAnchors(Float32Array.from(sizes), k, seed);
      meanIou = fit.meanIou;
      let o = 0;
      fitted = {
        scales: own.scales.map((s, i) => {
          const a = fit.anchors.slice(2 * o, 2 * (o + per[i])).map((v) => Math.round(v * 10) / 10);
          o += per[i];
          return { stride: s.stride, anchors: a };
        }),
      };
    }
    return { own: fitted, note: `k-means anchors (mean IoU ${meanIou.toFixed(3)}): ${fitted.scales.map((s) => `s${s.stride}: ${s.anchors.join(',')}`).join('  ')}` };
  },
};
