// The contract between the kestrel detector and one of its heads. Network, model, trainer and target
// encoder know heads only through this interface and the table in ./index.ts, so a head is one folder
// (config schema, outputs, decoding, target encoding, loss) plus one line there.
import type { tf } from '../../runtime/backend.js';
import type { Candidates } from '../candidates.js';
import type { GroundTruth } from './box-math.js';

/** What every head may read of the detector's configuration besides its own section. */
export interface HeadContext {
  inputSize: number;
  numClasses: number;
}

/** One 1×1 convolution the head adds on a shared feature map. */
export interface HeadOutput {
  stride: number;
  slotsPerCell: number;
  /** Numbers per slot. */
  depth: number;
}

/** How one head's raw outputs become candidates for one image. */
export interface HeadDecodeOptions {
  scoreThreshold: number;
  /** At most this many candidates per image, best first. */
  cap: number;
  multiLabel: boolean;
  /** Attach each candidate's class distribution (the region classifier mixes it with its own). */
  withClassProbs: boolean;
  /** Window voting overlap for the sliding-window head; 0 = off. Other heads ignore it. */
  voteIou: number;
}

export interface LossResult {
  total: tf.Scalar;
  parts: Record<string, tf.Scalar>;
}

/** A head bound to one configuration: its geometry (priors, windows) is built once. */
export interface BoundHead<Targets> {
  /**
   * Inside tf.tidy, on the backend: the head's network outputs for a batch → the tensors `decode` reads
   * (activations that are cheaper there than per image on the CPU).
   */
  activate(outputs: tf.Tensor[], batch: number): tf.Tensor[];
  /** One image's share of each activated tensor → its candidates, at most `cap`. */
  decode(perOutput: Float32Array[], o: HeadDecodeOptions): Candidates;
  /** Training targets for a batch of ground truths. */
  encode(gts: GroundTruth[]): Targets;
  /** Loss of the gathered predictions ([batch, slots, depth]) against `encode`'s targets. */
  loss(pred: tf.Tensor3D, targets: Targets): LossResult;
}

export interface DetectorHead<Config, Targets> {
  /** The head's name in requests, manifests and `--head`. */
  readonly name: string;
  /** Prefix of its output layers (`${prefix}_s${stride}`) and its key in training logs. */
  readonly prefix: string;
  /** Its section's key in the detector config. */
  readonly configKey: string;
  outputs(own: Config, ctx: HeadContext): HeadOutput[];
  /**
   * Initial biases of one slot (its `depth` numbers start at `at` in the layer's bias vector), so that the
   * first steps are not spent unlearning a flood of confident false positives.
   */
  initBias(bias: number[], at: number): void;
  bind(own: Config, ctx: HeadContext): BoundHead<Targets>;
  /**
   * Optional, before a fresh training run: the head's section fitted to the training boxes (YOLO's anchors),
   * with a line for the log.
   */
  fitToData?(own: Config, gts: readonly GroundTruth[], seed: number): { own: Config; note: string };
}
