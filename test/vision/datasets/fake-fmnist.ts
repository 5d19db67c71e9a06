// A synthetic stand-in for Fashion-MNIST so tests never need /usr/share/datasets: simple filled shapes whose
// class decides the shape (so a detector can learn them in a few steps).
import type { FmnistSplit } from '../../../src/vision/datasets/fmnist.js';

export function fakeFmnist(count: number, seed = 1): FmnistSplit {
  const rows = 28, cols = 28;
  const images = new Uint8Array(count * rows * cols);
  const labels = new Uint8Array(count);
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  for (let i = 0; i < count; i++) {
    const c = i % 10;
    labels[i] = c;
    // Class c: a rectangle whose aspect ratio depends on c, with some noise inside.
    const w = 6 + (c % 5) * 4, h = 24 - (c % 5) * 3;
    const x0 = Math.floor((cols - w) / 2), y0 = Math.floor((rows - h) / 2);
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) images[i * rows * cols + y * cols + x] = c < 5 ? 200 + Math.floor(rnd() * 55) : 120 + Math.floor(rnd() * 40);
  }
  return { images, labels, count, rows, cols };
}
