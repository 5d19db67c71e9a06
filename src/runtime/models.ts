// What a loaded model offers to the server and the CLI, per kind. Heads produce raw candidates;
// thresholds, NMS and the mapping back to image pixels are shared post-processing.
import type { InputResize } from '../vision/image.js';
import type { Manifest } from './manifest.js';
import type { Candidates } from '../vision/candidates.js';

/**
 * What predict takes: RGB bytes, or RGB floats on the 0–255 scale from a decode that resizes in floats
 * ('pad-square-bilinear') and would lose agreement with its reference by rounding them.
 */
export type InputPixels = Uint8Array | Float32Array;

/** Optional per-call settings of DetectorModel.predict. */
export interface PredictOptions {
  /** Candidates scoring below this may be dropped before they are returned (they would be anyway). */
  scoreThreshold?: number;
  /** Every class above the threshold per box instead of the best one; models without it ignore it. */
  multiLabel?: boolean;
  /** Models with a second-stage region classifier: true uses it, false skips it (default: the model's setting). Others ignore it. */
  regionClassifier?: boolean;
  /** Models with a region classifier: its weight in the class mix, overriding the manifest's (0–1). */
  regionWeight?: number;
  /** Models with window voting (sliding windows): its overlap threshold, 0 = off. Others ignore it. */
  windowVoteIou?: number;
}

export interface DetectorModel {
  readonly kind: 'detector';
  readonly manifest: Manifest;
  readonly labels: readonly string[];
  readonly heads: readonly string[];
  readonly defaultHead: string;
  readonly inputSize: { width: number; height: number };
  /** Score threshold used when a request gives none. */
  readonly defaultScoreThreshold: number;
  /**
   * pixels: batch × height × width × 3 RGB values at inputSize (already letterboxed): bytes, or floats for
   * a model whose inputResize is 'pad-square-bilinear' (only such a model is ever given floats).
   * Returns one candidate set per image.
   */
  predict(pixels: InputPixels, batch: number, head: string, opts?: PredictOptions): Promise<Candidates[]>;
  /** True when a second-stage region classifier names the boxes (PredictOptions.regionClassifier). */
  readonly hasRegionClassifier?: boolean;
  /** Whether predict uses the region classifier when PredictOptions.regionClassifier is absent. */
  readonly regionClassifierByDefault?: boolean;
  /**
   * Optional: the input size a head runs at when it differs from inputSize. predict accepts pixels at
   * either size; letterboxing straight to this one spares it a resize. Boxes are in the given pixels.
   */
  headInputSize?(head: string): { width: number; height: number };
  /** Optional: the NMS IoU threshold a head was tuned with, for requests that give none. */
  defaultIouThreshold?(head: string): number;
  /**
   * Optional: where the resized picture sits inside the letterbox; 'center' when absent. Models whose
   * reference pipeline pads only right and bottom (face-api) reproduce it only with 'top-left'.
   */
  readonly letterboxAlign?: 'center' | 'top-left';
  /** Optional: the letterbox padding grey (0–255) the network was trained with; 114 when absent. */
  readonly letterboxFill?: number;
  /**
   * Optional: how images are brought to the input size; 'letterbox' (sharp, lanczos3) when absent. Models
   * whose reference pipeline pads the full-resolution picture to a square and then resizes it as TF's
   * ResizeBilinear does (face-api's) say 'pad-square-bilinear', with letterboxAlign and letterboxFill
   * placing and filling that padding. Its images reach predict as floats (InputPixels).
   */
  readonly inputResize?: InputResize;
  /**
   * Optional: square input sides a request may choose (speed modes, fastest first). Models that list them
   * take pixels at any of these sides; without it a model runs only at headInputSize/inputSize.
   */
  readonly inputSizes?: readonly number[];
  dispose(): void;
}

export interface GenerateOptions {
  prompt: string;
  length: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed?: number;
  signal?: AbortSignal;
  onToken?: (ch: string) => void;
}

export interface CharRnnModel {
  readonly kind: 'char-rnn';
  readonly manifest: Manifest;
  readonly vocabulary: string;
  generate(opts: GenerateOptions): Promise<{ text: string; finishReason: 'length' | 'aborted' }>;
  score(text: string): Promise<{ nats: number; bitsPerChar: number; perplexity: number }>;
  dispose(): void;
}

export interface ForecasterModel {
  readonly kind: 'forecaster';
  readonly manifest: Manifest;
  readonly window: number;
  readonly maxHorizon: number;
  forecast(series: Float64Array | number[], horizon: number): Promise<{ forecast: number[]; lower?: number[]; upper?: number[] }>;
  dispose(): void;
}

export type LoadedModel = DetectorModel | CharRnnModel | ForecasterModel;

/** A kind's loader builds the runtime model from its folder; it throws on anything it cannot use. */
export type ModelLoader = (manifest: Manifest, dir: string) => Promise<LoadedModel>;

/** The loaded models of a running service. */
export interface ModelRegistry {
  list(): readonly LoadedModel[];
  get(name: string): LoadedModel | undefined;
  /** The manifest-marked default of a kind, else the first loaded of that kind. */
  defaultOf<K extends LoadedModel['kind']>(kind: K): Extract<LoadedModel, { kind: K }> | undefined;
  /** Models found on disk that could not be loaded, with the reason. */
  readonly failures: readonly { name: string; dir: string; error: string }[];
}
