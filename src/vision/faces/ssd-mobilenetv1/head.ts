// The SSD face detector as a kestrel SSD head: box encodings reordered into the shared decoder's
// [dx dy dw dh] layout and decoded there against the exported priors.
import type { tf } from '../../../runtime/backend.js';
import type { Candidates } from '../../candidates.js';
import { decodeSsd } from '../../heads/ssd/decode.js';
import type { FaceHead } from '../head.js';
import { SSD_FACE_INPUT, SSD_FACE_IOU_THRESHOLD, SSD_FACE_VARIANCES } from './config.js';
import { ssdFaceForward } from './network.js';
import { disposeSsdFaceParams, type SsdFaceParams } from './params.js';

/** The export encodes (dy, dx, dh, dw); the shared decoder reads (dx, dy, dw, dh). */
export function yxToXy(enc: Float32Array): Float32Array {
  const out = new Float32Array(enc.length);
  for (let i = 0; i < enc.length; i += 4) {
    out[i] = enc[i + 1];
    out[i + 1] = enc[i];
    out[i + 2] = enc[i + 3];
    out[i + 3] = enc[i + 2];
  }
  return out;
}

export class SsdFaceHead implements FaceHead {
  readonly iouThreshold = SSD_FACE_IOU_THRESHOLD;
  readonly side = SSD_FACE_INPUT;

  constructor(private readonly params: SsdFaceParams) {}

  async detect(x: tf.Tensor4D, scoreThreshold: number): Promise<Candidates[]> {
    const { encodings, faceProb } = ssdFaceForward(this.params, x);
    let enc: Float32Array;
    let prob: Float32Array;
    try {
      [enc, prob] = (await Promise.all([encodings.data(), faceProb.data()])) as [Float32Array, Float32Array];
    } finally {
      encodings.dispose();
      faceProb.dispose();
    }
    const n = this.params.priors.length / 4;
    const result: Candidates[] = [];
    for (let b = 0; b < x.shape[0]; b++) {
      result.push(
        decodeSsd(yxToXy(enc.subarray(b * n * 4, (b + 1) * n * 4)), prob.subarray(b * n, (b + 1) * n), {
          priors: this.params.priors,
          variances: [SSD_FACE_VARIANCES[0], SSD_FACE_VARIANCES[1]],
          numClasses: 1,
          background: false,
          inputWidth: this.side,
          inputHeight: this.side,
          scoreThreshold,
        }),
      );
    }
    return result;
  }

  dispose(): void {
    disposeSsdFaceParams(this.params);
  }
}
