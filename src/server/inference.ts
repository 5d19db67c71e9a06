// Where forward passes run. Routes talk to an InferenceEngine, never to a model's predict() directly,
// so the in-process engine here can be swapped for a worker-thread pool with micro-batching (issue 10)
// and given a bounded queue (issue 9) without touching a route.
import { Gauge } from 'prom-client';
import type { DetectorModel, InputPixels } from '../runtime/models.js';
import type { Candidates } from '../vision/candidates.js';
import { metricsRegistry, observeBatch, observeInference } from './plugins/metrics.js';

export interface DetectJob {
  model: DetectorModel;
  head: string;
  /** batch × height × width × 3 RGB values, letterboxed to inputSize: bytes, or floats for the models that ask (InputPixels). */
  pixels: InputPixels;
  batch: number;
  /** The model's inputSize, or the head's own (DetectorModel.headInputSize). */
  inputSize?: { width: number; height: number };
  /** Lets the model drop hopeless candidates early; post-processing applies it again. */
  scoreThreshold?: number;
  /** Use (true) or skip (false) the model's region classifier; the model's setting when absent. */
  regionClassifier?: boolean;
  /** Aborted when the client went away or the deadline passed; an engine may then skip the work. */
  signal?: AbortSignal;
}

export interface EngineStats {
  /** Jobs running now. */
  active: number;
  /** Jobs waiting for a slot. */
  queued: number;
  completed: number;
  failed: number;
  rejected: number;
}

export interface InferenceEngine {
  readonly name: string;
  detect(job: DetectJob): Promise<Candidates[]>;
  /**
   * Holds a place in the queue for a job whose images are still being decoded, so that a request the
   * engine could not take is refused (EngineOverloadedError) before it costs a decode. The returned
   * function gives the place back; call it just before detect(), or when the request fails first.
   */
  reserve(): () => void;
  /**
   * Throws EngineOverloadedError (and counts a refusal) when a request arriving now could not get a place:
   * checked before the request's body is read, so a refusal under overload costs no upload either.
   */
  assertAccepting(): void;
  stats(): EngineStats;
  close(): Promise<void>;
}

/** Thrown when the engine will not take more work; the HTTP layer answers 503 with Retry-After. */
export class EngineOverloadedError extends Error {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.name = 'EngineOverloadedError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class JobAbortedError extends Error {
  constructor(message = 'the inference job was aborted before it ran') {
    super(message);
    this.name = 'JobAbortedError';
  }
}

/** The job's deadline (KESTREL_INFERENCE_TIMEOUT_MS) passed while it waited or ran; answered as 503. */
export class InferenceTimeoutError extends EngineOverloadedError {
  constructor(readonly timeoutMs: number) {
    super(`the inference deadline of ${timeoutMs} ms passed before the job finished (server busy); retry later`, 1);
    this.name = 'InferenceTimeoutError';
  }
}

/**
 * The queue places an engine gives out before its jobs exist. A request that is still decoding holds one
 * (reserve); a request arriving when every place is taken (queued jobs, held places, beyond the idle
 * forward-pass slots) is refused. Both engines keep one.
 */
export class QueuePlaces {
  reserved = 0;

  constructor(
    private readonly maxQueue: number,
    private readonly onRefuse: () => void,
  ) {}

  /** waiting: jobs in the engine's queue now; idle: forward-pass slots free now. */
  assertRoom(closed: boolean, waiting: number, idle: number): void {
    if (closed) throw new EngineOverloadedError('the inference engine is shutting down', 5);
    if (waiting + this.reserved >= this.maxQueue + Math.max(0, idle)) {
      this.onRefuse();
      throw new EngineOverloadedError(`inference queue full (${this.maxQueue} waiting)`);
    }
  }

  /** Holds a place; the function returned gives it back, once however often it is called. */
  reserve(closed: boolean, waiting: number, idle: number): () => void {
    this.assertRoom(closed, waiting, idle);
    this.reserved++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.reserved--;
    };
  }
}

export const abortError = (signal: AbortSignal): Error => (signal.reason instanceof InferenceTimeoutError ? signal.reason : new JobAbortedError());

/** A job's pixel buffer must hold exactly batch × height × width × 3 values at its input size. */
export function checkJobPixels(job: DetectJob): void {
  const { width, height } = job.inputSize ?? job.model.inputSize;
  const expected = job.batch * width * height * 3;
  if (job.pixels.length !== expected) {
    throw new Error(`pixels hold ${job.pixels.length} ${job.pixels instanceof Float32Array ? 'floats' : 'bytes'}; ${job.batch}×${height}×${width}×3 = ${expected} expected`);
  }
}

/**
 * Runs `run` under the job's deadline (none when timeoutMs ≤ 0). The deadline aborts the job: a queued one
 * leaves its queue at once; a running forward pass cannot be interrupted, so its caller gets the timeout
 * now and the pass's result is discarded when it ends.
 */
export async function withDeadline(job: DetectJob, timeoutMs: number, run: (job: DetectJob) => Promise<Candidates[]>): Promise<Candidates[]> {
  if (timeoutMs <= 0) return run(job);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new InferenceTimeoutError(timeoutMs)), timeoutMs);
  const signal = job.signal ? AbortSignal.any([job.signal, deadline.signal]) : deadline.signal;
  const expired = new Promise<never>((_, reject) => deadline.signal.addEventListener('abort', () => reject(abortError(deadline.signal)), { once: true }));
  try {
    return await Promise.race([run({ ...job, signal }), expired]);
  } finally {
    clearTimeout(timer);
  }
}

export interface InProcessEngineOptions {
  /**
   * Jobs that run at once. tfjs executes one op at a time on the main thread, so more than one mostly
   * interleaves awaits; 1 keeps latency predictable.
   */
  concurrency?: number;
  /** Jobs allowed to wait; past this the engine refuses rather than growing memory. */
  maxQueue?: number;
  /** Longest a job may wait plus run, in ms; 0 or absent = no deadline. */
  timeoutMs?: number;
}

// Engines alive in this process; the gauges below sum over them (tests build several apps).
const liveEngines = new Set<InferenceEngine>();
/** Counts an engine in the queue gauges until untrackEngine (engines call these themselves). */
export const trackEngine = (e: InferenceEngine): void => void liveEngines.add(e);
export const untrackEngine = (e: InferenceEngine): void => void liveEngines.delete(e);
const sumOf = (k: keyof EngineStats) => [...liveEngines].reduce((acc, e) => acc + e.stats()[k], 0);
new Gauge({
  name: 'kestrel_inference_queued',
  help: 'Detection jobs waiting for a forward pass.',
  registers: [metricsRegistry],
  collect() {
    this.set(sumOf('queued'));
  },
});
new Gauge({
  name: 'kestrel_inference_active',
  help: 'Detection forward passes running now.',
  registers: [metricsRegistry],
  collect() {
    this.set(sumOf('active'));
  },
});
new Gauge({
  name: 'kestrel_inference_rejected',
  help: 'Detection jobs refused because the queue was full (503), since start.',
  registers: [metricsRegistry],
  collect() {
    this.set(sumOf('rejected'));
  },
});

/**
 * Runs predict() on the calling thread with a small FIFO in front of it. The queue is what makes
 * overload visible (EngineOverloadedError) instead of piling decoded images up in memory.
 */
export class InProcessEngine implements InferenceEngine {
  readonly name = 'in-process';
  private readonly concurrency: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private active = 0;
  private readonly waiting: { start: () => void; job: DetectJob; reject: (e: Error) => void }[] = [];
  private counts = { completed: 0, failed: 0, rejected: 0 };
  private closed = false;
  private readonly places: QueuePlaces;

  constructor(opts: InProcessEngineOptions = {}) {
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.maxQueue = Math.max(0, opts.maxQueue ?? 64);
    this.timeoutMs = Math.max(0, opts.timeoutMs ?? 0);
    this.places = new QueuePlaces(this.maxQueue, () => this.counts.rejected++);
    liveEngines.add(this);
  }

  async detect(job: DetectJob): Promise<Candidates[]> {
    if (this.closed) throw new EngineOverloadedError('the inference engine is shutting down', 5);
    if (job.batch < 1) return [];
    checkJobPixels(job);
    return withDeadline(job, this.timeoutMs, (j) => this.run(j));
  }

  reserve(): () => void {
    return this.places.reserve(this.closed, this.waiting.length, this.concurrency - this.active);
  }

  assertAccepting(): void {
    this.places.assertRoom(this.closed, this.waiting.length, this.concurrency - this.active);
  }

  private async run(job: DetectJob): Promise<Candidates[]> {
    await this.acquire(job);
    try {
      if (job.signal?.aborted) throw abortError(job.signal);
      const t0 = performance.now();
      const out = await job.model.predict(job.pixels, job.batch, job.head, { scoreThreshold: job.scoreThreshold, regionClassifier: job.regionClassifier });
      observeInference(job.model.manifest.name, job.head, (performance.now() - t0) / 1000);
      observeBatch(job.model.manifest.name, job.head, job.batch, 1);
      if (out.length !== job.batch) throw new Error(`model ${job.model.manifest.name} returned ${out.length} results for a batch of ${job.batch}`);
      this.counts.completed++;
      return out;
    } catch (err) {
      this.counts.failed++;
      throw err;
    } finally {
      this.release();
    }
  }

  private acquire(job: DetectJob): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    if (this.waiting.length + this.places.reserved >= this.maxQueue) {
      this.counts.rejected++;
      return Promise.reject(new EngineOverloadedError(`inference queue full (${this.maxQueue} waiting)`));
    }
    return new Promise<void>((resolve, reject) => {
      const entry = { job, reject, start: () => resolve() };
      this.waiting.push(entry);
      // A job whose client is gone leaves the queue at once instead of costing a forward pass.
      job.signal?.addEventListener(
        'abort',
        () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) {
            this.waiting.splice(i, 1);
            reject(abortError(job.signal as AbortSignal));
          }
        },
        { once: true },
      );
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next.start(); // the slot passes straight to the next job
    else this.active--;
  }

  stats(): EngineStats {
    return { active: this.active, queued: this.waiting.length, ...this.counts };
  }

  async close(): Promise<void> {
    this.closed = true;
    liveEngines.delete(this);
    for (const w of this.waiting.splice(0)) w.reject(new EngineOverloadedError('the inference engine is shutting down', 5));
  }
}
