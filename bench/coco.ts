// npm run bench:coco — the COCO detector (NanoDet-g) on one core, in one run:
//   - the bare network: tfjs's graph executor vs kestrel's channels-last pass, at 320 / 416 / 512;
//   - the whole in-process pipeline on a 640×480 JPEG (decode, letterbox, network, GFL decoding, NMS) and
//     its ratio to the bare network;
//   - @vladmandic/human's own NanoDet pipeline (a dev dependency, same weights, same wasm backend) on the
//     same photographs: its ms per photo and what it finds next to what kestrel finds.
// Medians of --runs passes after --warmup. Prints a table and writes JSON (--out).
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { initBackend, tf } from '../src/runtime/backend.js';
import { readManifest } from '../src/runtime/registry.js';
import { loadNanoDet } from '../src/vision/nanodet/loader.js';
import type { NanoDetDetector } from '../src/vision/nanodet/model.js';
import { Registry } from '../src/runtime/registry.js';
import { InProcessEngine } from '../src/server/inference.js';
import { DEFAULT_DETECT_LIMITS, detectOne, parseDetectOptions, prepare } from '../src/server/detection.js';
import { matMulPeak } from './flops.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    threshold: { type: 'string', default: '0.35' },
    out: { type: 'string', default: join(ROOT, 'bench/results/coco.json') },
    help: { type: 'boolean', default: false },
  },
});
if (o.help) {
  console.log('npm run bench:coco -- [--runs N] [--warmup N] [--threshold S] [--out FILE]');
  process.exit(0);
}
const RUNS = Number(o.runs);
const WARMUP = Number(o.warmup);
const THRESHOLD = Number(o.threshold);

const SK = '/usr/lib/python3/dist-packages/skimage/data';
const CV = '/usr/share/doc/opencv-doc/examples/data';
const PHOTOS = [
  join(ROOT, 'test/fixtures/astronaut.jpg'),
  join(ROOT, 'test/fixtures/camera.jpg'),
  `${SK}/chelsea.png`,
  `${SK}/coffee.png`,
  `${SK}/motorcycle_left.png`,
  `${SK}/horse.png`,
  `${CV}/messi5.jpg`,
  `${CV}/basketball1.png`,
  `${CV}/fruits.jpg`,
].filter((f) => existsSync(f));

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return Math.round(median(t) * 10) / 10;
}

const backend = await initBackend('wasm');
const dir = join(ROOT, 'models/coco');
const manifest = await readManifest(dir);
const kestrel = (await loadNanoDet(manifest, dir)) as NanoDetDetector;
const graphOnly = (await loadNanoDet({ ...manifest, config: { ...manifest.config, engine: 'graph' } }, dir)) as NanoDetDetector;

// 1. The bare network (input already normalised; outputs read back to the CPU).
const bare: Record<string, number> = {};
for (const side of [320, 416, 512]) {
  const px = new Uint8Array(side * side * 3).fill(96);
  bare[`kestrel@${side}`] = await timeIt(() => kestrel.forward(px, 1, side));
  if (side === 416) bare['graph@416'] = await timeIt(() => graphOnly.forward(px, 1, side));
}

// FLOPs of one pass, counted from the convolutions tfjs actually ran (2 · outputs · kernel · input channels),
// against the best 1024³ matMul on the same backend: how near the single-thread peak the network already runs.
async function convFlops(side: number): Promise<number> {
  const px = new Uint8Array(side * side * 3).fill(96);
  const info = await tf.profile(async () => {
    await kestrel.forward(px, 1, side);
  });
  let flops = 0;
  for (const k of info.kernels) {
    if (k.name !== 'FusedConv2D' && k.name !== 'Conv2D') continue;
    const [kh, kw, cin] = k.inputShapes[1] as number[];
    const out = k.outputShapes[0] as number[];
    flops += 2 * out[0] * out[1] * out[2] * out[3] * kh * kw * cin;
  }
  return flops;
}
const peak = await matMulPeak(1024, 5);
const gflops: Record<string, { gflop: number; achievedGflops: number; ofPeak: number }> = {};
for (const side of [320, 416, 512]) {
  const f = await convFlops(side);
  const achieved = f / (bare[`kestrel@${side}`] / 1000) / 1e9;
  gflops[`kestrel@${side}`] = { gflop: +(f / 1e9).toFixed(2), achievedGflops: +achieved.toFixed(1), ofPeak: +(achieved / (peak.flopsPerSecond / 1e9)).toFixed(2) };
}

// 2. The in-process pipeline on a 640×480 JPEG, by speed mode.
const source = existsSync(`${CV}/basketball1.png`) ? `${CV}/basketball1.png` : join(ROOT, 'test/fixtures/camera.jpg');
const jpeg640 = await sharp(source).resize(640, 480, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
const registry = new Registry([{ model: kestrel, dir }]);
const engine = new InProcessEngine();
const ctx = { registry, engine, limits: DEFAULT_DETECT_LIMITS };
const pipeline: Record<string, number> = {};
for (const side of [320, 416, 512]) pipeline[`kestrel@${side}`] = await timeIt(() => detectOne(ctx, prepare(ctx, parseDetectOptions({ size: String(side) })), jpeg640));

// 3. @vladmandic/human's own pipeline over the same weights, served to it over loopback HTTP.
type HumanObj = { label: string; score: number; box: [number, number, number, number] };
const server = createServer((req, res) => {
  const f = join(dir, (req.url ?? '').replace(/^\/+/, '').replace(/\.\./g, ''));
  if (!existsSync(f)) return void res.writeHead(404).end();
  res.writeHead(200).end(readFileSync(f));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as { port: number }).port;
let humanRows: { photo: string; ms: number; found: string[] }[] = [];
let humanError: string | undefined;
try {
  // The package's wasm build for Node, loaded by path: its export map offers the tfjs-node build only.
  const { Human } = createRequire(import.meta.url)(join(ROOT, 'node_modules/@vladmandic/human/dist/human.node-wasm.js')) as { Human: new (c: object) => { load(): Promise<void>; detect(t: tf.Tensor): Promise<{ object: HumanObj[] }> } };
  const human = new Human({
    backend: 'wasm',
    modelBasePath: `http://127.0.0.1:${port}/`,
    debug: false,
    async: false,
    face: { enabled: false },
    body: { enabled: false },
    hand: { enabled: false },
    gesture: { enabled: false },
    segmentation: { enabled: false },
    filter: { enabled: false },
    object: { enabled: true, modelPath: 'nanodet.json', minConfidence: THRESHOLD, iouThreshold: 0.6, maxDetected: 100, skipFrames: 0, skipTime: 0 },
  });
  await human.load();
  for (const f of PHOTOS) {
    const { data, info } = await sharp(f).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const t = tf.tensor4d(data, [1, info.height, info.width, 3], 'float32');
    let res: { object: HumanObj[] } = { object: [] };
    const ms = await timeIt(async () => (res = await human.detect(t)));
    t.dispose();
    humanRows.push({ photo: f.split('/').pop()!, ms, found: res.object.map((x) => `${x.label} ${x.score.toFixed(2)}`) });
  }
} catch (err) {
  humanError = err instanceof Error ? err.message : String(err);
  humanRows = [];
}
server.close();

// 4. What kestrel finds on the same photographs, with the same threshold, and its ms per photo.
const rows: { photo: string; kestrelMs: number; kestrel: string[]; humanMs?: number; human?: string[] }[] = [];
for (const f of PHOTOS) {
  const img = readFileSync(f);
  const opts = parseDetectOptions({ scoreThreshold: String(THRESHOLD) });
  let r = await detectOne(ctx, prepare(ctx, opts), img);
  const ms = await timeIt(async () => (r = await detectOne(ctx, prepare(ctx, opts), img)));
  const h = humanRows.find((x) => x.photo === f.split('/').pop());
  rows.push({ photo: f.split('/').pop()!, kestrelMs: ms, kestrel: r.detections.map((d) => `${d.label} ${d.score.toFixed(2)}`), humanMs: h?.ms, human: h?.found });
}
await engine.close();

const result = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.versions.node, backend: backend.name },
  runs: RUNS,
  threshold: THRESHOLD,
  bareNetworkMs: bare,
  matMulPeakGflops: +(peak.flopsPerSecond / 1e9).toFixed(1),
  convFlops: gflops,
  pipeline640x480Ms: pipeline,
  ratioPipelineToBare416: Math.round((pipeline['kestrel@416'] / bare['kestrel@416']) * 100) / 100,
  photos: rows,
  humanError,
};
mkdirSync(dirname(o.out!), { recursive: true });
writeFileSync(o.out!, JSON.stringify(result, null, 2) + '\n');
console.log(`backend ${backend.name}, ${RUNS} runs, medians`);
console.log('bare network ms:', JSON.stringify(bare));
console.log(`conv GFLOP per pass and achieved GFLOP/s (matMul peak ${result.matMulPeakGflops}):`, JSON.stringify(gflops));
console.log('pipeline on a 640×480 JPEG, ms:', JSON.stringify(pipeline), `ratio at 416: ${result.ratioPipelineToBare416}`);
if (humanError) console.log(`@vladmandic/human could not run: ${humanError}`);
for (const r of rows) console.log(`${r.photo.padEnd(20)} kestrel ${String(r.kestrelMs).padStart(6)} ms  [${r.kestrel.join(', ')}]\n${''.padEnd(20)} human   ${String(r.humanMs ?? '–').padStart(6)} ms  [${(r.human ?? []).join(', ')}]`);
process.exit(0);
