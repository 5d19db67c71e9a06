// Precision-recall curves as an image: an SVG drawn by hand (no plotting dependency) and rasterised
// to PNG by sharp.
import sharp from 'sharp';
import type { Evaluation } from './map.js';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface PlotOptions {
  width?: number;
  height?: number;
  title?: string;
}

/** SVG with one step curve per class (precision vs recall) and a legend with each class's AP. */
export function prCurvesSvg(ev: Evaluation, opts: PlotOptions = {}): string {
  const W = opts.width ?? 800, H = opts.height ?? 600;
  const left = 70, right = 220, top = 50, bottom = 60;
  const pw = W - left - right, ph = H - top - bottom;
  const X = (r: number): number => left + r * pw;
  const Y = (p: number): number => top + (1 - p) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  const title = opts.title ?? `Precision-recall, mAP ${(ev.mAP * 100).toFixed(2)}%`;
  parts.push(`<text x="${left + pw / 2}" y="30" font-family="sans-serif" font-size="18" text-anchor="middle">${esc(title)}</text>`);
  for (let k = 0; k <= 10; k++) {
    const v = k / 10;
    parts.push(`<line x1="${X(v)}" y1="${top}" x2="${X(v)}" y2="${top + ph}" stroke="#e5e5e5"/>`);
    parts.push(`<line x1="${left}" y1="${Y(v)}" x2="${left + pw}" y2="${Y(v)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${X(v)}" y="${top + ph + 18}" font-family="sans-serif" font-size="12" text-anchor="middle">${v.toFixed(1)}</text>`);
    parts.push(`<text x="${left - 8}" y="${Y(v) + 4}" font-family="sans-serif" font-size="12" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  parts.push(`<text x="${left + pw / 2}" y="${H - 15}" font-family="sans-serif" font-size="14" text-anchor="middle">recall</text>`);
  parts.push(`<text x="20" y="${top + ph / 2}" font-family="sans-serif" font-size="14" text-anchor="middle" transform="rotate(-90 20 ${top + ph / 2})">precision</text>`);
  const names = Object.keys(ev.perClass);
  names.forEach((name, i) => {
    const c = ev.perClass[name];
    const color = PALETTE[i % PALETTE.length];
    if (c.recall.length > 0) {
      // Step plot: recall only moves on true positives, precision is read after each detection.
      let d = `M${X(0).toFixed(1)},${Y(c.precision[0]).toFixed(1)}`;
      for (let k = 0; k < c.recall.length; k++) d += ` L${X(c.recall[k]).toFixed(1)},${Y(c.precision[k]).toFixed(1)}`;
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    if (i < 25) {
      const ly = top + 10 + i * 20;
      parts.push(`<line x1="${left + pw + 15}" y1="${ly}" x2="${left + pw + 40}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
      const label = `${name.length > 16 ? name.slice(0, 15) + '…' : name} ${(c.ap * 100).toFixed(1)}%`;
      parts.push(`<text x="${left + pw + 46}" y="${ly + 4}" font-family="sans-serif" font-size="12">${esc(label)}</text>`);
    } else if (i === 25) {
      parts.push(`<text x="${left + pw + 15}" y="${top + 10 + i * 20 + 4}" font-family="sans-serif" font-size="12">… ${names.length - 25} more</text>`);
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Writes the PR curves as a PNG file. */
export async function plotPrCurves(ev: Evaluation, file: string, opts: PlotOptions = {}): Promise<void> {
  await sharp(Buffer.from(prCurvesSvg(ev, opts))).png().toFile(file);
}
