// Hard-negative mining (SSD): keep every positive and, per image, only the negatives with the highest loss,
// at most `ratio` per positive, so the overwhelming easy background does not drown the signal.

/**
 * ce: per-slot classification loss, labels: >0 positive, 0 negative, <0 ignored; both batch×n.
 * Returns a 0/1 mask of the slots that count, and the number of positives.
 */
export function mineHardNegatives(ce: Float32Array, labels: Int32Array, batch: number, ratio = 3, minNegatives = 8): { mask: Float32Array; positives: number } {
  const n = labels.length / batch;
  const mask = new Float32Array(labels.length);
  let positives = 0;
  const idx: number[] = [];
  for (let b = 0; b < batch; b++) {
    const base = b * n;
    let pos = 0;
    idx.length = 0;
    for (let i = 0; i < n; i++) {
      const l = labels[base + i];
      if (l > 0) {
        mask[base + i] = 1;
        pos++;
      } else if (l === 0) idx.push(base + i);
    }
    positives += pos;
    // Images without objects still teach background, through their hardest few windows.
    const k = Math.min(idx.length, Math.max(minNegatives, ratio * pos));
    idx.sort((a, c) => ce[c] - ce[a]);
    for (let j = 0; j < k; j++) mask[idx[j]] = 1;
  }
  return { mask, positives };
}
