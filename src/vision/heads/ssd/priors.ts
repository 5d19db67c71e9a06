// SSD default boxes: on each feature map, at every cell centre, one box per (size, aspect ratio).
export interface PriorMap {
  stride: number;
  /** Box sides in input pixels for aspect 1; other aspects keep the area. */
  sizes: number[];
  /** width / height ratios. */
  aspects: number[];
}

export interface PriorSpec {
  inputWidth: number;
  inputHeight: number;
  maps: PriorMap[];
}

export function priorsPerCell(m: PriorMap): number {
  return m.sizes.length * m.aspects.length;
}

/**
 * n×4 [cx, cy, w, h] normalized to the input, ordered map by map, then [gy][gx][size][aspect], which is the
 * order of a map's NHWC output reshaped to [cells·priorsPerCell, depth].
 */
export function makePriors(spec: PriorSpec): Float32Array {
  const out: number[] = [];
  for (const m of spec.maps) {
    const gh = Math.ceil(spec.inputHeight / m.stride);
    const gw = Math.ceil(spec.inputWidth / m.stride);
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++) {
        const cx = ((gx + 0.5) * m.stride) / spec.inputWidth;
        const cy = ((gy + 0.5) * m.stride) / spec.inputHeight;
        for (const s of m.sizes) {
          for (const a of m.aspects) {
            const r = Math.sqrt(a);
            out.push(cx, cy, (s * r) / spec.inputWidth, s / r / spec.inputHeight);
          }
        }
      }
    }
  }
  return Float32Array.from(out);
}
