// YOLO anchors: k-means over the training boxes' (w, h) with 1 − IoU as the distance (YOLOv2), so that big
// boxes do not dominate the clustering the way they would under Euclidean distance.
import { shapeIou } from '../box-math.js';
import { mulberry32 } from '../../../runtime/random.js';


/**
 * sizes: n×2 [w, h]. Returns k anchors [w0, h0, ...] sorted by area (small first), and the mean best IoU of
 * the boxes with them. Initialisation is k-means++ under the IoU distance.
 */
export function kmeansAnchors(sizes: Float32Array, k: number, seed = 1, iterations = 100): { anchors: number[]; meanIou: number } {
  const n = sizes.length / 2;
  if (n < k) throw new Error(`kmeansAnchors: ${n} boxes cannot make ${k} anchors`);
  const rand = mulberry32(seed);
  const centers: number[] = [];
  const first = Math.floor(rand() * n);
  centers.push(sizes[2 * first], sizes[2 * first + 1]);
  const d = new Float64Array(n);
  while (centers.length < 2 * k) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      let best = Infinity;
      for (let c = 0; c < centers.length / 2; c++) best = Math.min(best, 1 - shapeIou(sizes[2 * i], sizes[2 * i + 1], centers[2 * c], centers[2 * c + 1]));
      d[i] = best * best;
      total += d[i];
    }
    let r = rand() * total;
    let pick = n - 1;
    for (let i = 0; i < n; i++) {
      r -= d[i];
      if (r <= 0) {
        pick = i;
        break;
      }
    }
    centers.push(sizes[2 * pick], sizes[2 * pick + 1]);
  }
  const assign = new Int32Array(n).fill(-1);
  for (let it = 0; it < iterations; it++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      let best = 0, bestIou = -1;
      for (let c = 0; c < k; c++) {
        const v = shapeIou(sizes[2 * i], sizes[2 * i + 1], centers[2 * c], centers[2 * c + 1]);
        if (v > bestIou) {
          bestIou = v;
          best = c;
        }
      }
      if (assign[i] !== best) {
        assign[i] = best;
        changed = true;
      }
    }
    const sw = new Float64Array(k), sh = new Float64Array(k), cnt = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      sw[assign[i]] += sizes[2 * i];
      sh[assign[i]] += sizes[2 * i + 1];
      cnt[assign[i]]++;
    }
    for (let c = 0; c < k; c++) {
      if (cnt[c] > 0) {
        centers[2 * c] = sw[c] / cnt[c];
        centers[2 * c + 1] = sh[c] / cnt[c];
      }
    }
    if (!changed && it > 0) break;
  }
  const order = [...Array(k).keys()].sort((a, b) => centers[2 * a] * centers[2 * a + 1] - centers[2 * b] * centers[2 * b + 1]);
  const anchors = order.flatMap((c) => [centers[2 * c], centers[2 * c + 1]]);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 0; c < k; c++) best = Math.max(best, shapeIou(sizes[2 * i], sizes[2 * i + 1], anchors[2 * c], anchors[2 * c + 1]));
    sum += best;
  }
  return { anchors, meanIou: sum / n };
}
