// Messages between the worker-pool engine (worker-engine.ts) and its threads (inference-worker.ts).
// Types only: the worker imports nothing of the server but this.
import type { BackendChoice, BackendName } from '../runtime/backend.js';

export interface WorkerInit {
  backend: BackendChoice;
  /** Detector folders to load, by the name the main thread's registry gave them. */
  models: { name: string; dir: string }[];
  /** Run one batch-1 forward pass per head after loading, so the first request pays no warm-up. */
  warmup: boolean;
}

export interface RunRequest {
  type: 'run';
  id: number;
  model: string;
  head: string;
  batch: number;
  width: number;
  height: number;
  scoreThreshold?: number;
  regionClassifier?: boolean;
  /** batch × height × width × 3 RGB values, transferred: bytes, or float32 when `floats` (InputPixels). */
  pixels: ArrayBuffer;
  floats?: boolean;
}

export interface MemoryRequest {
  type: 'memory';
  id: number;
}

export type ToWorker = RunRequest | MemoryRequest;

export interface WorkerMemory {
  tensors: number;
  bytes: number;
}

export interface ReadyReply extends WorkerMemory {
  type: 'ready';
  backend: BackendName;
  models: { name: string; ok: boolean; error?: string }[];
}

/** Candidates of every image of a batch, concatenated; counts[i] are image i's. All buffers transferred. */
export interface RunReply extends WorkerMemory {
  type: 'done';
  id: number;
  ok: true;
  counts: Int32Array;
  boxes: Float32Array;
  scores: Float32Array;
  classes: Int32Array;
  /** Time spent in predict(), ms. */
  ms: number;
}

export interface RunFailure extends WorkerMemory {
  type: 'done';
  id: number;
  ok: false;
  error: string;
}

export interface MemoryReply extends WorkerMemory {
  type: 'memory';
  id: number;
}

export type FromWorker = ReadyReply | RunReply | RunFailure | MemoryReply;
