// Which classes of one row of class probabilities become candidates: the best one (what a caller showing
// one label per box wants), or every class above the threshold (the evaluation protocol of the SSD and
// YOLO papers, where a box with an uncertain class still counts for its runner-up).

/** Appends row `row`'s class columns (from `first`), renormalised to sum to 1, to `out`. */
export function pushClassDistribution(probs: Float32Array, row: number, width: number, first: number, out: number[]): void {
  const base = row * width;
  let sum = 0;
  for (let c = first; c < width; c++) sum += probs[base + c];
  for (let c = first; c < width; c++) out.push(sum > 0 ? probs[base + c] / sum : 1 / (width - first));
}

/**
 * Calls `emit(classIndex, probability)` for the chosen classes of row `row` of `probs` (rows of `width`
 * columns; columns before `first` are not classes, e.g. SSD's background). Class indices start at 0 at `first`.
 */
export function chooseClasses(probs: Float32Array, row: number, width: number, first: number, threshold: number, multiLabel: boolean, emit: (c: number, p: number) => void): void {
  const base = row * width;
  if (multiLabel) {
    for (let c = first; c < width; c++) if (probs[base + c] >= threshold) emit(c - first, probs[base + c]);
    return;
  }
  let best = -1;
  let bestP = -Infinity;
  for (let c = first; c < width; c++) {
    if (probs[base + c] > bestP) {
      bestP = probs[base + c];
      best = c;
    }
  }
  if (best >= 0 && bestP >= threshold) emit(best - first, bestP);
}
