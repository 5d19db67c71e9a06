// Detection forward passes in a pool of worker threads, with dynamic micro-batching in front of it.
// tfjs runs every op on the thread that calls it, so in-process inference blocks the event loop for the
// whole pass (~12 ms per 128² image on wasm) and /healthz waits behind it; here the main thread only
// decodes, queues and post-processes. Each worker holds its own backend and models. Requests for the
// same model, head and input size that wait together run as one forward pass (as TF Serving and
// Triton batch), and each request gets its own images' candidates back.
import type { Worker } from 'node:worker_threads';
import { backendInfo, type BackendChoice } from '../runtime/backend.js';
import type { DetectorModel } from '../runtime/models.js';
import { sliceCandidates, type Candidates } from '../vision/candidates.js';
import {
  abortError,
  checkJobPixels,
  EngineOverloadedError,
  InProcessEngine,
  trackEngine,
  untrackEngine,
  withDeadline,
  type DetectJob,
  type EngineStats,
  type InferenceEngine,
  type InProcessEngineOptions,
  QueuePlaces,
} from './inference.js';
import { addTensorSource, addThreadMemorySource, observeBatch, observeInference, type ThreadMemory } from './plugins/metrics.js';
import type { FromWorker, RunReply, RunRequest, WorkerInit, WorkerMemory } from './worker-protocol.js';
import { startWorker } from './worker-thread.js';

/** Where the engine reports trouble that does not fail a request (pino's logger fits). */
export interface EngineLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WorkerEngineOptions {
  /** Worker threads (≥ 1). */
  workers: number;
  /** Detector models the workers load, each with the folder it came from. */
  models: readonly { model: DetectorModel; dir: string }[];
  /** The workers' backend; the main thread's when absent. */
  backend?: BackendChoice;
  /** Jobs allowed to wait; past this the engine refuses (503) rather than growing memory. */
  maxQueue?: number;
  /** Longest a job may wait plus run, in ms; 0 or absent = no deadline. */
  timeoutMs?: number;
  /** Most images in one forward pass (default 8); 1 turns batching off. */
  batchMax?: number;
  /** How long the last idle worker waits for more requests to fill its batch, ms (default 2); 0 turns batching off. */
  batchWaitMs?: number;
  /** Warm each head up in every worker before serving (default true). */
  warmup?: boolean;
  log?: EngineLog;
}

export interface WorkerEngineStats extends EngineStats {
  /** Workers up and serving. */
  workers: number;
  /** Forward passes run by the workers. */
  batches: number;
  /** Live tfjs tensors summed over the workers, as each last reported (after its latest pass). */
  workerTensors: number;
}

interface Pending {
  job: DetectJob;
  key: string;
  enqueued: number;
  resolve: (c: Candidates[]) => void;
  reject: (e: Error) => void;
  /** Stops listening for the job's abort once it left the queue. */
  detach: () => void;
}

interface InFlight {
  id: number;
  jobs: Pending[];
  model: string;
  head: string;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  models: Set<string>;
  inflight?: InFlight;
  /** Exited or failed; its replacement (if any) takes its index. */
  dead?: boolean;
  memory: WorkerMemory;
  memoryWaiters: Map<number, (m: WorkerMemory) => void>;
}

const keyOf = (job: DetectJob): string => {
  const { width, height } = job.inputSize ?? job.model.inputSize;
  // Jobs batch together only when they ask for the same work, region classifier included.
  return `${job.model.manifest.name}\u0000${job.head}\u0000${width}x${height}\u0000${job.regionClassifier ?? 'model'}`;
};

let poolCount = 0;

export class WorkerEngine implements InferenceEngine {
  readonly name = 'worker-pool';
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  /** Models the workers serve, by identity: a different object of the same name runs in-process. */
  private readonly served = new Map<DetectorModel, string>();
  private readonly init: WorkerInit;
  private readonly maxQueue: number;
  private readonly places: QueuePlaces;
  private readonly timeoutMs: number;
  private readonly batchMax: number;
  private readonly batchWaitMs: number;
  private local?: InProcessEngine;
  private timer?: NodeJS.Timeout;
  private seq = 0;
  private active = 0;
  private counts = { completed: 0, failed: 0, rejected: 0, batches: 0 };
  private closed = false;
  /** Until every first worker is ready, a failure fails start() instead of being replaced. */
  private starting = true;
  private readonly removeTensorSources: (() => void)[];

  /** Starts the workers and resolves once every one has loaded its models. */
  static async start(opts: WorkerEngineOptions): Promise<WorkerEngine> {
    const engine = new WorkerEngine(opts);
    try {
      await Promise.all(engine.slots.map((s) => engine.whenReady(s)));
      engine.starting = false;
    } catch (err) {
      await engine.close();
      throw err;
    }
    return engine;
  }

  private constructor(private readonly opts: WorkerEngineOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new Error(`workers must be a positive integer, got ${opts.workers}`);
    this.maxQueue = Math.max(0, opts.maxQueue ?? 64);
    this.places = new QueuePlaces(this.maxQueue, () => this.counts.rejected++);
    this.timeoutMs = Math.max(0, opts.timeoutMs ?? 0);
    this.batchMax = Math.max(1, opts.batchMax ?? 8);
    this.batchWaitMs = Math.max(0, opts.batchWaitMs ?? 2);
    this.init = {
      backend: opts.backend ?? backendInfo()?.name ?? 'auto',
      models: opts.models.map(({ model, dir }) => ({ name: model.manifest.name, dir })),
      warmup: opts.warmup ?? true,
    };
    for (let i = 0; i < opts.workers; i++) this.slots.push(this.spawn(i));
    trackEngine(this);
    // kestrel_tensors_live counts each worker as of its latest pass (exact when idle, which is when a
    // leak check reads it); kestrel_tfjs_thread_tensors asks every worker at scrape time.
    this.removeTensorSources = [addTensorSource(`worker-pool-${++poolCount}`, () => this.stats().workerTensors), addThreadMemorySource(() => this.memory())];
  }

  private get batching(): boolean {
    return this.batchMax > 1 && this.batchWaitMs > 0;
  }

  private spawn(index: number): Slot {
    const worker = startWorker({ workerData: this.init, name: `kestrel-inference-${index}` });
    const slot: Slot = { index, worker, ready: false, models: new Set(), memory: { tensors: 0, bytes: 0 }, memoryWaiters: new Map() };
    worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
    worker.on('error', (err) => this.onExit(slot, err));
    worker.on('exit', (code) => this.onExit(slot, new Error(`inference worker ${index} exited with code ${code}`)));
    return slot;
  }

  private whenReady(slot: Slot): Promise<void> {
    return new Promise((resolve, reject) => {
      if (slot.ready) return resolve();
      const onMsg = (m: FromWorker) => {
        if (m.type === 'ready') done();
      };
      const onFail = (e: unknown) => done(e instanceof Error ? e : new Error(`inference worker ${slot.index} exited with code ${String(e)} while loading`));
      const done = (err?: Error) => {
        slot.worker.off('message', onMsg).off('error', onFail).off('exit', onFail);
        if (err) reject(err);
        else resolve();
      };
      slot.worker.on('message', onMsg).on('error', onFail).on('exit', onFail);
    });
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    slot.memory = { tensors: msg.tensors, bytes: msg.bytes };
    if (msg.type === 'ready') {
      slot.ready = true;
      for (const m of msg.models) {
        if (m.ok) slot.models.add(m.name);
        else this.opts.log?.warn({ worker: slot.index, model: m.name, error: m.error }, 'a detector failed to load in an inference worker; it is served in-process');
      }
      for (const { model } of this.opts.models) if (slot.models.has(model.manifest.name)) this.served.set(model, model.manifest.name);
      this.schedule();
    } else if (msg.type === 'memory') {
      slot.memoryWaiters.get(msg.id)?.(slot.memory);
      slot.memoryWaiters.delete(msg.id);
    } else {
      const f = slot.inflight;
      if (!f || f.id !== msg.id) return;
      slot.inflight = undefined;
      this.active -= f.jobs.length;
      if (msg.ok) {
        observeInference(f.model, f.head, msg.ms / 1000);
        this.split(f.jobs, msg);
      } else {
        this.counts.failed += f.jobs.length;
        for (const p of f.jobs) p.reject(new Error(msg.error));
      }
      this.schedule();
    }
  }

  /** Hands each job its own images' candidates out of the batch's packed arrays. */
  private split(jobs: Pending[], r: RunReply): void {
    let image = 0;
    let offset = 0;
    for (const p of jobs) {
      const out: Candidates[] = [];
      for (let b = 0; b < p.job.batch; b++, image++) {
        const n = r.counts[image];
        out.push(sliceCandidates(r, offset, offset + n));
        offset += n;
      }
      this.counts.completed++;
      p.resolve(out);
    }
  }

  private onExit(slot: Slot, err: Error): void {
    if (slot.dead) return; // 'error' is followed by 'exit'
    slot.dead = true;
    const f = slot.inflight;
    slot.inflight = undefined;
    slot.ready = false;
    if (f) {
      this.active -= f.jobs.length;
      this.counts.failed += f.jobs.length;
      for (const p of f.jobs) p.reject(new Error(`the inference worker failed: ${err.message}`));
    }
    for (const w of slot.memoryWaiters.values()) w(slot.memory);
    slot.memoryWaiters.clear();
    if (this.closed || this.starting) return;
    this.opts.log?.error({ worker: slot.index, err }, 'inference worker failed; replacing it');
    // A worker that dies is replaced; one that never got ready is not retried in a tight loop.
    const replace = () => {
      if (this.closed) return;
      const next = this.spawn(slot.index);
      this.slots[slot.index] = next;
      this.whenReady(next).catch(() => undefined);
    };
    if (slot.models.size > 0) replace();
    else setTimeout(replace, 1000).unref();
    void slot.worker.terminate().catch(() => undefined);
  }

  async detect(job: DetectJob): Promise<Candidates[]> {
    if (this.closed) throw new EngineOverloadedError('the inference engine is shutting down', 5);
    if (job.batch < 1) return [];
    checkJobPixels(job);
    // Models the workers do not have (loaded elsewhere, or failed in the workers) still serve, in-process.
    if (!this.served.has(job.model)) return this.localEngine().detect(job);
    return withDeadline(job, this.timeoutMs, (j) => this.enqueue(j));
  }

  reserve(): () => void {
    return this.places.reserve(this.closed, this.queue.length, this.idleSlots());
  }

  assertAccepting(): void {
    this.places.assertRoom(this.closed, this.queue.length, this.idleSlots());
  }

  private idleSlots(): number {
    return this.slots.filter((s) => this.isIdle(s)).length;
  }

  private localEngine(): InProcessEngine {
    this.local ??= new InProcessEngine({ concurrency: 1, maxQueue: this.maxQueue, timeoutMs: this.timeoutMs } satisfies InProcessEngineOptions);
    return this.local;
  }

  private enqueue(job: DetectJob): Promise<Candidates[]> {
    if (job.signal?.aborted) return Promise.reject(abortError(job.signal));
    const name = this.served.get(job.model) as string;
    if (this.queue.length + this.places.reserved >= this.maxQueue && !this.slots.some((s) => this.isIdle(s, name))) {
      this.counts.rejected++;
      return Promise.reject(new EngineOverloadedError(`inference queue full (${this.maxQueue} waiting)`));
    }
    return new Promise<Candidates[]>((resolve, reject) => {
      const entry: Pending = { job, key: keyOf(job), enqueued: performance.now(), resolve, reject, detach: () => undefined };
      const signal = job.signal;
      if (signal) {
        // A job whose client is gone (or whose deadline passed) leaves the queue instead of costing a pass.
        const onAbort = () => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) {
            this.queue.splice(i, 1);
            reject(abortError(signal));
          }
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(entry);
      this.schedule();
    });
  }

  private isIdle(s: Slot, model?: string): boolean {
    return s.ready && !s.inflight && (model === undefined || s.models.has(model));
  }

  /**
   * Starts forward passes while a worker is idle and work waits. The oldest job goes first with every
   * later job of the same model, head and size, up to batchMax images. Waiting for more company is worth
   * it only when the batch would take the last idle worker: with another idle worker, a lone job starts
   * at once (no latency added at low load); under load the queue fills batches by itself.
   */
  private schedule(): void {
    while (this.queue.length > 0) {
      let slot: Slot | undefined;
      let first = -1;
      for (let i = 0; i < this.queue.length && !slot; i++) {
        const name = this.served.get(this.queue[i].job.model) as string;
        slot = this.slots.find((s) => this.isIdle(s, name));
        if (slot) first = i;
      }
      if (!slot) return;
      const head = this.queue[first];
      const group = [head];
      let images = head.job.batch;
      if (this.batching) {
        for (let j = first + 1; j < this.queue.length && images < this.batchMax; j++) {
          const q = this.queue[j];
          if (q.key === head.key && images + q.job.batch <= this.batchMax) {
            group.push(q);
            images += q.job.batch;
          }
        }
        const name = this.served.get(head.job.model) as string;
        const idle = this.slots.filter((s) => this.isIdle(s, name)).length;
        const left = head.enqueued + this.batchWaitMs - performance.now();
        if (images < this.batchMax && idle === 1 && left > 0) {
          this.timer ??= setTimeout(() => {
            this.timer = undefined;
            this.schedule();
          }, Math.ceil(left));
          return;
        }
      }
      for (const p of group) this.queue.splice(this.queue.indexOf(p), 1);
      this.dispatch(slot, group);
    }
  }

  private dispatch(slot: Slot, group: Pending[]): void {
    for (const p of group) p.detach();
    const jobs = group.filter((p) => {
      if (!p.job.signal?.aborted) return true;
      p.reject(abortError(p.job.signal));
      return false;
    });
    if (jobs.length === 0) return;
    const first = jobs[0].job;
    const { width, height } = first.inputSize ?? first.model.inputSize;
    const batch = jobs.reduce((a, p) => a + p.job.batch, 0);
    // One fresh buffer for the batch: it is transferred, so no caller's bytes are detached. Jobs batch only
    // with jobs of the same model, which decodes them all to the same type.
    const floats = first.pixels instanceof Float32Array;
    const pixels = floats ? new Float32Array(batch * width * height * 3) : new Uint8Array(batch * width * height * 3);
    let at = 0;
    for (const p of jobs) {
      pixels.set(p.job.pixels, at);
      at += p.job.pixels.length;
    }
    // The model may drop candidates below the lowest threshold asked for; each request's own threshold
    // is applied again in post-processing, and top-k by score keeps the same best candidates.
    // A job without one gets the model's default, as predict() would give it.
    const scoreThreshold = Math.min(...jobs.map((p) => p.job.scoreThreshold ?? p.job.model.defaultScoreThreshold));
    const model = this.served.get(first.model) as string;
    const id = ++this.seq;
    slot.inflight = { id, jobs, model, head: first.head };
    this.active += jobs.length;
    this.counts.batches++;
    observeBatch(model, first.head, batch, jobs.length);
    const msg: RunRequest = { type: 'run', id, model, head: first.head, batch, width, height, scoreThreshold, regionClassifier: first.regionClassifier, pixels: pixels.buffer, floats };
    slot.worker.postMessage(msg, [pixels.buffer]);
  }

  stats(): WorkerEngineStats {
    return {
      active: this.active,
      queued: this.queue.length,
      completed: this.counts.completed,
      failed: this.counts.failed,
      rejected: this.counts.rejected,
      workers: this.slots.filter((s) => s.ready).length,
      batches: this.counts.batches,
      workerTensors: this.slots.reduce((a, s) => a + s.memory.tensors, 0),
    };
  }

  /** Each worker's tfjs memory, asked now; a worker that does not answer within 1 s gives its last report. */
  async memory(): Promise<ThreadMemory[]> {
    return Promise.all(
      this.slots.map(async (s) => {
        let m = s.memory;
        if (s.ready) {
          const id = ++this.seq;
          m = await new Promise<WorkerMemory>((resolve) => {
            const t = setTimeout(() => {
              s.memoryWaiters.delete(id);
              resolve(s.memory);
            }, 1000);
            s.memoryWaiters.set(id, (v) => {
              clearTimeout(t);
              resolve(v);
            });
            s.worker.postMessage({ type: 'memory', id });
          });
        }
        return { thread: `worker-${s.index}`, ...m };
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    untrackEngine(this);
    for (const remove of this.removeTensorSources) remove();
    if (this.timer) clearTimeout(this.timer);
    for (const p of this.queue.splice(0)) {
      p.detach();
      p.reject(new EngineOverloadedError('the inference engine is shutting down', 5));
    }
    await this.local?.close();
    await Promise.all(this.slots.map((s) => s.worker.terminate().catch(() => undefined)));
  }
}
