// npm run bench — HTTP throughput and latency of POST /v1/detect under load, measured end to end.
//
// For each backend and engine mode it starts the real server as a child process on loopback (its own
// CPU accounting, nothing shared with the load generator but the machine), and drives /v1/detect with
// a 128×128 JPEG using autocannon, per model and head, at each concurrency. While each load runs, a
// probe asks /healthz every 20 ms and records how long it took. Beside the HTTP figures it counts the
// network's FLOPs from its layers and compares the achieved FLOP/s with a matMul peak measured here.
//
// Modes: inprocess (KESTREL_WORKERS=0, forward passes on the event loop as before), single (a worker
// per core, KESTREL_BATCH_MAX=1), batched (workers + micro-batching with the batch settings given).
//
//   npm run bench                      # full run: a few minutes
//   npm run bench -- --quick           # wasm, yolo, c=1 and 16, 1 s each: well under a minute
//   npm run bench -- --help
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { initBackend, tf, type BackendName } from '../src/runtime/backend.js';
import { loaderFor } from '../src/runtime/loaders.js';
import { readManifest } from '../src/runtime/registry.js';
import { matMulPeak, modelFlops } from './flops.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HELP = `npm run bench -- [options]

  --quick                 wasm only, kestrel-fmnist yolo, modes single+batched, c=1,16, 1 s per point
  --duration S            seconds per measured point on wasm/tensorflow (default 2)
  --cpu-duration S        seconds per point on the cpu backend (default 5: a pass takes ~0.5 s there)
  --warmup S              seconds of load before each model/head is measured (default 1)
  --concurrency LIST      connections, e.g. 1,8,16,64 (default 1,8,16,64)
  --cpu-concurrency LIST  connections on the cpu backend (default 1,4)
  --backends LIST         wasm,cpu[,tensorflow] (default: wasm,cpu, plus tensorflow when tfjs-node loads)
  --modes LIST            inprocess,single,batched (default all three)
  --targets LIST          model:head pairs (default kestrel-fmnist:yolo, coco:gfl, coco:gfl@320, kestrel-fmnist:ssd,sliding-window, faces:yolo,ssd;
                          the cpu backend runs only the first target); a head ending in +rc asks for the
                          model's region classifier (regionClassifier=true), e.g. kestrel-fmnist:ssd+rc; @N asks for
                          input size N (speed mode), e.g. coco:gfl@320. COCO targets post a 640×480 photograph,
                          the others a 128×128 JPEG
  --workers N             worker threads for single/batched (default: cores = ${availableParallelism()})
  --batch-max N           KESTREL_BATCH_MAX for batched (default 8)
  --batch-wait-ms N       KESTREL_BATCH_WAIT_MS for batched (default 2)
  --out FILE              JSON results (default bench/results/throughput.json)
  --help`;

// The cpu backend runs only the first target: the cheap one, since COCO takes seconds per image there.
const DEFAULT_TARGETS = 'kestrel-fmnist:yolo,coco:gfl,coco:gfl@320,kestrel-fmnist:ssd,kestrel-fmnist:sliding-window,faces:yolo,faces:ssd';
const { values: o } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    'cpu-duration': { type: 'string' },
    warmup: { type: 'string' },
    concurrency: { type: 'string' },
    'cpu-concurrency': { type: 'string', default: '1,4' },
    backends: { type: 'string' },
    modes: { type: 'string' },
    targets: { type: 'string' },
    workers: { type: 'string', default: String(availableParallelism()) },
    'batch-max': { type: 'string', default: '8' },
    'batch-wait-ms': { type: 'string', default: '2' },
    out: { type: 'string', default: join(ROOT, 'bench/results/throughput.json') },
    help: { type: 'boolean', default: false },
  },
});
if (o.help) {
  console.log(HELP);
  process.exit(0);
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const nums = (s: string) => list(s).map(Number);
const positive = (name: string, v: number) => {
  if (!(v > 0)) throw new Error(`--${name} must be a positive number, got ${v}`);
  return v;
};

const tfjsNodePresent = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

const quick = o.quick;
const settings = {
  quick,
  // Flags given explicitly win over --quick's choices.
  duration: positive('duration', Number(o.duration ?? (quick ? 1 : 2))),
  cpuDuration: positive('cpu-duration', Number(o['cpu-duration'] ?? 5)),
  warmup: Number(o.warmup ?? (quick ? 0.5 : 1)),
  concurrency: nums(o.concurrency ?? (quick ? '1,16' : '1,8,16,64')),
  cpuConcurrency: nums(o['cpu-concurrency']),
  backends: (o.backends ? list(o.backends) : quick ? ['wasm'] : ['wasm', 'cpu', ...(tfjsNodePresent ? ['tensorflow'] : [])]) as BackendName[],
  modes: list(o.modes ?? (quick ? 'single,batched' : 'inprocess,single,batched')),
  targets: list(o.targets ?? (quick ? 'kestrel-fmnist:yolo' : DEFAULT_TARGETS)).map((t) => {
    const [model, rest] = t.split(':');
    const [spec, sizeText] = (rest ?? '').split('@');
    const head = spec?.replace(/\+rc$/, '');
    if (!model || !head) throw new Error(`--targets: "${t}" is not model:head`);
    const size = sizeText ? Number(sizeText) : undefined;
    if (size !== undefined && !(Number.isInteger(size) && size > 0)) throw new Error(`--targets: "${t}": the size after @ must be a whole number`);
    return { model, head, regionClassifier: spec !== head, size };
  }),
  workers: positive('workers', Number(o.workers)),
  batchMax: positive('batch-max', Number(o['batch-max'])),
  batchWaitMs: Number(o['batch-wait-ms']),
};
for (const m of settings.modes) if (!['inprocess', 'single', 'batched'].includes(m)) throw new Error(`unknown mode ${m}`);

// ---- the load ------------------------------------------------------------------------------------

interface AutocannonResult {
  latency: { p50: number; p99: number; average: number; max: number };
  requests: { total: number; average: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const jpeg = await sharp(join(ROOT, 'test/fixtures/camera.jpg')).resize(128, 128, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
// Photographs for the models made for them (the COCO detector): a 640×480 JPEG, a typical camera frame.
const photo640 = await sharp(join(ROOT, 'test/fixtures/camera.jpg')).resize(640, 480, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
const bodyFor = (t: Target): Buffer => (t.model === 'coco' ? photo640 : jpeg);

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

// Only the detectors are copied, so the server loads no char-RNN or forecasters it would not use here.
function modelsDir(targets: readonly { model: string }[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-bench-models-'));
  for (const name of new Set(targets.map((t) => t.model))) cpSync(join(ROOT, 'models', name), join(dir, name), { recursive: true });
  return dir;
}

interface Server {
  url: string;
  child: ChildProcess;
  stderr: string[];
}

async function startServer(backend: BackendName, mode: string, models: string): Promise<Server> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    // Per-request info logs would be written to a pipe this process must drain; errors still show.
    LOG_LEVEL: 'warn',
    KESTREL_BACKEND: backend,
    KESTREL_MODELS_DIR: models,
    KESTREL_RATE_LIMIT: '0',
    KESTREL_INFERENCE_QUEUE: '1024',
    KESTREL_WORKERS: mode === 'inprocess' ? '0' : String(settings.workers),
    KESTREL_BATCH_MAX: mode === 'batched' ? String(settings.batchMax) : '1',
    KESTREL_BATCH_WAIT_MS: mode === 'batched' ? String(settings.batchWaitMs) : '0',
  };
  // Run what this process runs: the TypeScript sources under tsx, or the compiled server next to a compiled bench.
  const ts = fileURLToPath(import.meta.url).endsWith('.ts');
  const entry = ts ? join(ROOT, 'src/server/server.ts') : join(ROOT, 'dist/src/server/server.js');
  const child = spawn(process.execPath, [...(ts ? ['--import', 'tsx'] : []), entry], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 180_000;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`server (${backend}/${mode}) exited with ${child.exitCode}: ${stderr.join('').slice(-2000)}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok).catch(() => false);
    if (ok) return { url, child, stderr };
    await sleep(250);
  }
  child.kill('SIGKILL');
  throw new Error(`server (${backend}/${mode}) not ready within 180 s`);
}

async function stopServer(s: Server): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (s.child.exitCode === null) s.child.kill('SIGKILL');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function metric(text: string, name: string, labels = ''): number {
  const prefix = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line ? Number(line.slice(prefix.length)) : NaN;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/** /healthz every 20 ms until stopped; latencies in ms. */
function probeHealth(url: string): { stop: () => Promise<number[]> } {
  const lat: number[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const t0 = performance.now();
      try {
        const r = await fetch(`${url}/healthz`);
        await r.arrayBuffer();
        if (r.ok) lat.push(performance.now() - t0);
      } catch {
        lat.push(Infinity);
      }
      await sleep(20);
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      return lat;
    },
  };
}

interface Point {
  backend: BackendName;
  mode: string;
  model: string;
  head: string;
  regionClassifier: boolean;
  size?: number;
  concurrency: number;
  seconds: number;
  imagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  non2xx: number;
  errors: number;
  meanBatch: number;
  healthz: { n: number; p50Ms: number; p99Ms: number; maxMs: number };
}

interface Target {
  model: string;
  head: string;
  regionClassifier: boolean;
  /** Input side asked for (speed mode); the model's default when absent. */
  size?: number;
}

async function load(url: string, t: Target, connections: number, seconds: number) {
  return autocannon({
    url: `${url}/v1/detect?model=${encodeURIComponent(t.model)}&head=${encodeURIComponent(t.head)}${t.regionClassifier ? '&regionClassifier=true' : ''}${t.size ? `&size=${t.size}` : ''}`,
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: bodyFor(t),
    connections,
    duration: seconds,
    timeout: 60,
  });
}

async function measure(s: Server, backend: BackendName, mode: string, t: Target, c: number, seconds: number): Promise<Point> {
  const labels = `model="${t.model}",head="${t.head}"`;
  const before = await metrics(s.url);
  const probe = probeHealth(s.url);
  const r = await load(s.url, t, c, seconds);
  const health = await probe.stop();
  const after = await metrics(s.url);
  const passes = metric(after, 'kestrel_inference_batch_size_count', labels) - (metric(before, 'kestrel_inference_batch_size_count', labels) || 0);
  const images = metric(after, 'kestrel_inference_batch_size_sum', labels) - (metric(before, 'kestrel_inference_batch_size_sum', labels) || 0);
  return {
    backend,
    mode,
    ...t,
    concurrency: c,
    seconds: r.duration,
    imagesPerSecond: r['2xx'] / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    meanBatch: passes > 0 ? images / passes : NaN,
    healthz: { n: health.length, p50Ms: pct(health, 50), p99Ms: pct(health, 99), maxMs: Math.max(...health) },
  };
}

// ---- FLOPs and peak --------------------------------------------------------------------------------

interface Compute {
  backend: BackendName;
  peak: { n: number; reps: number; gflopsPerThread: number; how: string };
  /** FLOPs per image for kestrel-fmnist's heads (layers counted); faces' networks are not layers models. */
  flopsPerImage: Record<string, number>;
}

async function compute(backend: BackendName): Promise<Compute> {
  await initBackend(backend);
  const n = backend === 'cpu' ? 256 : 1024;
  const reps = backend === 'cpu' ? 3 : 5;
  const p = await matMulPeak(n, reps);
  const flopsPerImage: Record<string, number> = {};
  const dir = join(ROOT, 'models/kestrel-fmnist');
  const manifest = await readManifest(dir);
  const det = await (await loaderFor(manifest))(manifest, dir);
  const subs = (det as unknown as { subModels?: Map<string, tf.LayersModel> }).subModels;
  for (const [head, m] of subs ?? []) flopsPerImage[head] = modelFlops(m).total;
  det.dispose();
  return {
    backend,
    peak: { n, reps, gflopsPerThread: p.flopsPerSecond / 1e9, how: `best of ${reps} ${n}×${n}·${n}×${n} tf.matMul on ${backend}, one thread (this process, before any server starts), 2n³ FLOPs each` },
    flopsPerImage,
  };
}

// ---- run -------------------------------------------------------------------------------------------

const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.versions.node, date: new Date().toISOString(), tfjsNode: tfjsNodePresent };
let git = '';
try {
  git = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
} catch {
  /* not a checkout */
}
console.log(`kestrel throughput bench — ${machine.cores} cores (${machine.cpu}), node ${machine.node}${git ? `, ${git}` : ''}`);
console.log(`settings: ${JSON.stringify(settings)}`);

const computes: Compute[] = [];
for (const b of settings.backends) {
  try {
    const c = await compute(b);
    computes.push(c);
    console.log(`${b}: matMul peak ${c.peak.gflopsPerThread.toFixed(1)} GFLOP/s per thread; kestrel-fmnist ${Object.entries(c.flopsPerImage).map(([h, f]) => `${h} ${(f / 1e6).toFixed(1)}`).join(', ')} MFLOP/image`);
  } catch (err) {
    console.log(`${b}: unavailable (${(err as Error).message.split('\n')[0]}); skipped`);
  }
}

const points: Point[] = [];
const tensors: { backend: BackendName; mode: string; before: number; after: number; requests: number }[] = [];
const t0 = performance.now();
for (const { backend } of computes) {
  const cpu = backend === 'cpu';
  const seconds = cpu ? settings.cpuDuration : settings.duration;
  const conc = cpu ? settings.cpuConcurrency : settings.concurrency;
  const targets = cpu ? settings.targets.slice(0, 1) : settings.targets;
  const models = modelsDir(targets);
  try {
    for (const mode of settings.modes) {
      const s = await startServer(backend, mode, models);
      try {
        let requests = 0;
        // Every target is warmed before the tensor count is read: first use may build lasting state.
        for (const t of targets) if (settings.warmup > 0) requests += (await load(s.url, t, 4, settings.warmup)).requests.total;
        await sleep(200);
        const tensorsBefore = metric(await metrics(s.url), 'kestrel_tensors_live');
        for (const t of targets) {
          for (const c of conc) {
            const p = await measure(s, backend, mode, t, c, seconds);
            requests += p.ok + p.non2xx;
            points.push(p);
            console.log(
              `${backend.padEnd(10)} ${mode.padEnd(9)} ${`${t.model}/${t.head}${t.regionClassifier ? '+rc' : ''}${t.size ? `@${t.size}` : ''}`.padEnd(29)} c=${String(c).padEnd(3)} ${p.imagesPerSecond.toFixed(1).padStart(7)} img/s  p50 ${p.p50Ms.toFixed(1).padStart(7)} ms  p99 ${p.p99Ms.toFixed(1).padStart(7)} ms  batch ${p.meanBatch.toFixed(2)}  /healthz p99 ${p.healthz.p99Ms.toFixed(1)} ms${p.non2xx || p.errors ? `  (${p.non2xx} non-2xx, ${p.errors} errors)` : ''}${p.ok === 0 ? '  (no answer within the window: raise the duration)' : ''}`,
            );
          }
        }
        await sleep(200);
        const after = metric(await metrics(s.url), 'kestrel_tensors_live');
        tensors.push({ backend, mode, before: tensorsBefore, after, requests });
        console.log(`${backend} ${mode}: live tensors (all threads, kestrel_tensors_live) ${tensorsBefore} after warm-up → ${after} after ${requests} requests`);
      } finally {
        await stopServer(s);
      }
    }
  } finally {
    rmSync(models, { recursive: true, force: true });
  }
}

// ---- report ----------------------------------------------------------------------------------------

const peakOf = (b: BackendName) => computes.find((c) => c.backend === b);
const rows = points.map((p) => {
  const c = peakOf(p.backend);
  // FLOPs are counted for the detector's layers only, so a row with the region classifier shows none.
  const f = p.model === 'kestrel-fmnist' && !p.regionClassifier ? c?.flopsPerImage[p.head] : undefined;
  const achieved = f ? (f * p.imagesPerSecond) / 1e9 : NaN;
  // The machine's peak: one thread's matMul peak times the threads doing forward passes.
  const threads = p.mode === 'inprocess' ? 1 : settings.workers;
  const peak = c ? c.peak.gflopsPerThread * Math.min(threads, machine.cores) : NaN;
  return { ...p, gflops: achieved, peakGflops: peak };
});

const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const table = [
  '| Backend | Mode | Model / head | Conc. | Images/s | p50 ms | p99 ms | Mean batch | /healthz p99 ms | GFLOP/s (of peak) |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.backend} | ${r.mode} | ${r.model} / ${r.head}${r.regionClassifier ? ' + region classifier' : ''}${r.size ? ` @ ${r.size}` : ''} | ${r.concurrency} | ${fmt(r.imagesPerSecond)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.meanBatch, 2)} | ${fmt(r.healthz.p99Ms)} | ${Number.isFinite(r.gflops) ? `${fmt(r.gflops)} (${fmt((100 * r.gflops) / r.peakGflops, 0)} %)` : '–'} |`,
  ),
].join('\n');

// The service goals of issue 10, checked against this run (informational: performance is never asserted in tests).
const yolo = (mode: string, c: number) => rows.find((r) => r.backend === 'wasm' && r.mode === mode && r.model === 'kestrel-fmnist' && r.head === 'yolo' && !r.regionClassifier && r.concurrency === c);
const goals = ['batched', 'single', 'inprocess'].flatMap((mode) => {
  const at16 = yolo(mode, 16);
  const at1 = yolo(mode, 1);
  const out: string[] = [];
  if (at16) out.push(`${mode}: yolo c=16 ${fmt(at16.imagesPerSecond)} img/s (goal ≥ 150: ${at16.imagesPerSecond >= 150 ? 'met' : 'NOT met'}); /healthz p99 ${fmt(at16.healthz.p99Ms)} ms (goal < 50: ${at16.healthz.p99Ms < 50 ? 'met' : 'NOT met'})`);
  if (at1) out.push(`${mode}: yolo c=1 p50 ${fmt(at1.p50Ms)} ms (goal ≤ 15: ${at1.p50Ms <= 15 ? 'met' : 'NOT met'})`);
  return out;
});

const seconds = (performance.now() - t0) / 1000;
const result = { machine, git, settings, computes, points: rows, tensors, goals, seconds };
mkdirSync(dirname(o.out), { recursive: true });
writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
console.log(`\n${table}\n`);
for (const c of computes) console.log(`peak (${c.backend}): ${fmt(c.peak.gflopsPerThread)} GFLOP/s per thread — ${c.peak.how}; "of peak" = per-thread peak × forward-pass threads (workers, or 1 in-process)`);
for (const g of goals) console.log(`goal ${g}`);
console.log(`\n${points.length} points in ${seconds.toFixed(0)} s; JSON: ${o.out}`);
