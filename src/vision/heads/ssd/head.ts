// The SSD head: per default box (priors.ts), offsets and a softmax over the classes plus background,
// decoded on the CPU (decode.ts), trained with loss.ts on encode.ts's targets.
import { tf } from '../../../runtime/backend.js';
import { topK } from '../../candidates.js';
import type { DetectorHead } from '../head.js';
import type { SsdConfig } from './config.js';
import { decodeSsd } from './decode.js';
import { encodeSsd } from './encode.js';
import { ssdLoss, type SsdBatchTargets } from './loss.js';
import { makePriors, priorsPerCell } from './priors.js';

export const ssdHead: DetectorHead<SsdConfig, SsdBatchTargets> = {
  name: 'ssd',
  prefix: 'ssd',
  configKey: 'ssd',
  outputs: (own, ctx) => own.maps.map((m) => ({ stride: m.stride, slotsPerCell: priorsPerCell(m), depth: 4 + ctx.numClasses + 1 })),
  initBias(bias, at) {
    // The classifier starts near background.
    bias[at + 4] = 3;
  },
  bind(own, ctx) {
    const S = ctx.inputSize;
    const C = ctx.numClasses + 1;
    const D = 4 + C;
    const priors = makePriors({ inputWidth: S, inputHeight: S, maps: own.maps });
    const np = priors.length / 4;
    return {
      activate(outputs, batch) {
        // The class columns are softmaxed on the backend, the offsets left as they are: [batch, slots, 4 + C].
        const rows = tf.concat(outputs.map((t) => tf.reshape(t, [batch, -1, D])), 1);
        return [tf.concat([rows.slice([0, 0, 0], [-1, -1, 4]), tf.softmax(rows.slice([0, 0, 4], [-1, -1, D - 4]))], 2)];
      },
      decode([rows], o) {
        const loc = new Float32Array(np * 4);
        const probs = new Float32Array(np * C);
        for (let i = 0; i < np; i++) {
          loc.set(rows.subarray(i * D, i * D + 4), i * 4);
          probs.set(rows.subarray(i * D + 4, (i + 1) * D), i * C);
        }
        const c = decodeSsd(loc, probs, {
          priors, variances: own.variances, numClasses: C, background: true, inputWidth: S, inputHeight: S,
          scoreThreshold: o.scoreThreshold, multiLabel: o.multiLabel, withClassProbs: o.withClassProbs,
        });
        return topK(c, o.cap);
      },
      encode(gts) {
        const b = gts.length;
        const t: SsdBatchTargets = { loc: new Float32Array(b * np * 4), labels: new Int32Array(b * np) };
        gts.forEach((gt, i) => {
          const s = encodeSsd(gt, priors, { variances: own.variances, inputWidth: S, inputHeight: S });
          t.loc.set(s.loc, i * np * 4);
          t.labels.set(s.labels, i * np);
        });
        return t;
      },
      loss: (pred, t) => ssdLoss(pred, t),
    };
  },
};
