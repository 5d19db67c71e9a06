// The tiny face detector as a kestrel YOLO head: its output grid decoded by the shared YOLO decoder.
import { tf } from '../../../runtime/backend.js';
import type { Candidates } from '../../candidates.js';
import { decodeYolo } from '../../heads/yolo/decode.js';
import type { FaceHead } from '../head.js';
import { TINY_FACE_ANCHORS_CELLS, TINY_FACE_BOX_ENCODING, TINY_FACE_IOU_THRESHOLD, TINY_FACE_STRIDE, tinyFaceGridSize } from './config.js';
import { tinyFaceForward } from './network.js';
import { disposeTinyFaceParams, type TinyFaceParams } from './params.js';

/** Anchors in input pixels: the network's are in grid cells. */
export function anchorsInPixels(cellW: number, cellH: number): number[] {
  return TINY_FACE_ANCHORS_CELLS.flatMap(([w, h]) => [w * cellW, h * cellH]);
}

export class TinyFaceHead implements FaceHead {
  readonly iouThreshold = TINY_FACE_IOU_THRESHOLD;
  private readonly grid: number;

  constructor(
    private readonly params: TinyFaceParams,
    readonly side: number,
  ) {
    if (!Number.isInteger(side) || side <= 0 || side % TINY_FACE_STRIDE !== 0) {
      throw new Error(`tiny face detector: input side must be a positive multiple of ${TINY_FACE_STRIDE}, got ${side}`);
    }
    this.grid = tinyFaceGridSize(side);
  }

  async detect(x: tf.Tensor4D, scoreThreshold: number): Promise<Candidates[]> {
    const out = tinyFaceForward(this.params, x);
    let raw: Float32Array;
    try {
      raw = (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
    const g = this.grid;
    const A = TINY_FACE_ANCHORS_CELLS.length;
    const per = g * g * A * TINY_FACE_BOX_ENCODING;
    // Cells are side/grid pixels: the grid spans the whole input even though conv0 trims a border.
    const cell = this.side / g;
    const anchors = anchorsInPixels(cell, cell);
    const result: Candidates[] = [];
    for (let b = 0; b < x.shape[0]; b++) {
      // The grid already is the decoder's [gy][gx][anchor][tx ty tw th tobj] layout; with no class
      // logits (one class) the score is sigmoid(tobj), as the network intends.
      result.push(
        decodeYolo(raw.subarray(b * per, (b + 1) * per), {
          gridH: g,
          gridW: g,
          anchors,
          numClasses: 0,
          inputWidth: this.side,
          inputHeight: this.side,
          classActivation: 'softmax',
          scoreThreshold,
        }),
      );
    }
    return result;
  }

  dispose(): void {
    disposeTinyFaceParams(this.params);
  }
}
