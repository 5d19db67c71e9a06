// One detection worker thread: its own tfjs backend and its own copy of the detector models, loaded
// from the same folders as the main thread's registry. It runs one forward pass at a time (the engine
// sends work only to idle workers) and answers with candidates packed into transferable typed arrays.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, tf } from '../runtime/backend.js';
import { loaderFor } from '../runtime/loaders.js';
import type { DetectorModel } from '../runtime/models.js';
import { mergeCandidates, type Candidates } from '../vision/candidates.js';
import { readManifest } from '../runtime/registry.js';
import type { FromWorker, RunRequest, ToWorker, WorkerInit, WorkerMemory } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('inference-worker runs as a worker thread');
const init = workerData as WorkerInit;

const memory = (): WorkerMemory => {
  const m = tf.memory();
  return { tensors: m.numTensors, bytes: m.numBytes };
};
const send = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

const backend = await initBackend(init.backend);
const models = new Map<string, DetectorModel>();
const loaded: { name: string; ok: boolean; error?: string }[] = [];
for (const { name, dir } of init.models) {
  try {
    const manifest = await readManifest(dir);
    if (manifest.name !== name) throw new Error(`the folder now holds "${manifest.name}"`);
    const model = await (await loaderFor(manifest))(manifest, dir);
    if (model.kind !== 'detector') {
      model.dispose();
      throw new Error(`not a detector (${model.kind})`);
    }
    if (init.warmup) {
      for (const head of model.heads) {
        const { width, height } = model.headInputSize?.(head) ?? model.inputSize;
        await model.predict(new Uint8Array(width * height * 3), 1, head);
      }
    }
    models.set(name, model);
    loaded.push({ name, ok: true });
  } catch (err) {
    loaded.push({ name, ok: false, error: message(err) });
  }
}

function pack(out: Candidates[]): { counts: Int32Array; boxes: Float32Array; scores: Float32Array; classes: Int32Array } {
  // classProbs stay behind: the server never reads them, and they would multiply the message size.
  const { boxes, scores, classes } = mergeCandidates(out.map(({ boxes, scores, classes }) => ({ boxes, scores, classes })));
  return { counts: Int32Array.from(out, (c) => c.scores.length), boxes, scores, classes };
}

async function run(req: RunRequest): Promise<void> {
  try {
    const model = models.get(req.model);
    if (!model) throw new Error(`model ${req.model} is not loaded in this worker`);
    const t0 = performance.now();
    const pixels = req.floats ? new Float32Array(req.pixels) : new Uint8Array(req.pixels);
    const out = await model.predict(pixels, req.batch, req.head, { scoreThreshold: req.scoreThreshold, regionClassifier: req.regionClassifier });
    const ms = performance.now() - t0;
    if (out.length !== req.batch) throw new Error(`model ${req.model} returned ${out.length} results for a batch of ${req.batch}`);
    const p = pack(out);
    send({ type: 'done', id: req.id, ok: true, ...p, ms, ...memory() }, [p.counts.buffer, p.boxes.buffer, p.scores.buffer, p.classes.buffer] as ArrayBuffer[]);
  } catch (err) {
    send({ type: 'done', id: req.id, ok: false, error: message(err), ...memory() });
  }
}

// Passes run strictly one after another, even if the engine ever sent two.
let chain = Promise.resolve();
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'memory') send({ type: 'memory', id: msg.id, ...memory() });
  else chain = chain.then(() => run(msg));
});
send({ type: 'ready', backend: backend.name, models: loaded, ...memory() });
