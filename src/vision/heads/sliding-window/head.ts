// The sliding-window head: a fixed set of windows (windows.ts), each classified into the classes plus
// background; a box is its window, optionally averaged with its neighbours by voting (voting.ts).
import { tf } from '../../../runtime/backend.js';
import { pick, topK } from '../../candidates.js';
import type { DetectorHead } from '../head.js';
import { priorsPerCell } from '../ssd/priors.js';
import type { SlidingWindowConfig } from './config.js';
import { windowLoss } from './loss.js';
import { voteWindows } from './voting.js';
import { decodeWindows, encodeWindows, makeWindows } from './windows.js';

/** Lowest window score that votes (window voting), whatever the caller's threshold. */
const VOTE_FLOOR = 0.01;

export const slidingWindowHead: DetectorHead<SlidingWindowConfig, Int32Array> = {
  name: 'sliding-window',
  prefix: 'sw',
  configKey: 'slidingWindow',
  outputs: (own, ctx) => own.maps.map((m) => ({ stride: m.stride, slotsPerCell: priorsPerCell(m), depth: ctx.numClasses + 1 })),
  initBias(bias, at) {
    // Windows start near background.
    bias[at] = 3;
  },
  bind(own, ctx) {
    const C = ctx.numClasses + 1;
    const windows = makeWindows({ inputWidth: ctx.inputSize, inputHeight: ctx.inputSize, maps: own.maps });
    const nw = windows.length / 4;
    return {
      activate(outputs, batch) {
        return [tf.softmax(tf.concat(outputs.map((t) => tf.reshape(t, [batch, -1, C])), 1))];
      },
      /**
       * With voting, windows down to a fixed floor take part whatever the caller's threshold, so a box does
       * not change with the threshold asked for.
       */
      decode([probs], o) {
        const decode = (thr: number) => decodeWindows(probs, windows, { numClassesWithBackground: C, scoreThreshold: thr, multiLabel: o.multiLabel, withClassProbs: o.withClassProbs });
        if (o.voteIou <= 0) return topK(decode(o.scoreThreshold), o.cap);
        const voted = voteWindows(topK(decode(Math.min(o.scoreThreshold, VOTE_FLOOR)), o.cap), o.voteIou);
        return pick(voted, [...voted.scores.keys()].filter((i) => voted.scores[i] >= o.scoreThreshold));
      },
      encode(gts) {
        const t = new Int32Array(gts.length * nw);
        gts.forEach((gt, i) => t.set(encodeWindows(gt, windows), i * nw));
        return t;
      },
      loss: (pred, labels) => windowLoss(pred, labels),
    };
  },
};
