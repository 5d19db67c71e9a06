// Load test of the real server (issue 9): a child process serving models/ on a loopback port, driven by
// autocannon with POST /v1/detect of a 128×128 JPEG at several concurrencies; then 2 × N/2 more requests
// with the server's resident memory and live tensor count (kestrel_tensors_live) read from its /metrics before, between and after
// (the server's own numbers, so the load generator's memory does not mix in). A leak shows as growth in
// the second half; the first half may still include warm-up (allocator pools, JIT).
//
//   npm run bench:load                                      # defaults: 10 s per level, 10,000 leak requests
//   npm run bench:load -- --duration 2 --leak-requests 300  # a smoke run
//
// Throughput counts 2xx answers per second. 503s (the inference queue full, by design under overload)
// are counted on their own; every other non-2xx answer, socket error or timeout is an error.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import sharp from 'sharp';

const USAGE = `usage: npm run bench:load -- [options]
  --duration S          seconds per concurrency level (default 10)
  --concurrency LIST    comma-separated connection counts (default 1,8,64)
  --leak-requests N     requests for the memory/tensor check, 0 to skip (default 10000)
  --leak-concurrency C  connections for the memory/tensor check (default 8)
  --warmup N            requests before measuring (default 200)
  --size PX             side of the square test JPEG (default 128)
  --photo WxH           post a real photograph (test/fixtures/astronaut.jpg) scaled to W×H instead, e.g. 4000x2700
  --probe-ms N          /healthz probe interval during each level (default 20); its p99 and worst are reported
  --out FILE            JSON results (default bench/load.json)
  --dist                run the built server (dist/src/server/server.js) instead of src/ via tsx
Server settings come from the environment as usual (KESTREL_BACKEND, KESTREL_INFERENCE_QUEUE, ...).`;

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '1,8,64' },
    'leak-requests': { type: 'string', default: '10000' },
    'leak-concurrency': { type: 'string', default: '8' },
    warmup: { type: 'string', default: '200' },
    size: { type: 'string', default: '128' },
    photo: { type: 'string' },
    'probe-ms': { type: 'string', default: '20' },
    out: { type: 'string', default: 'bench/load.json' },
    dist: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

function positive(name: string, raw: string, min = 1): number {
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) {
    console.error(`bench:load: --${name} must be a number ≥ ${min}, got "${raw}"\n${USAGE}`);
    process.exit(2);
  }
  return v;
}
const durationS = positive('duration', opts.duration, 0.5);
const levels = opts.concurrency.split(',').map((s) => Math.round(positive('concurrency', s.trim())));
const leakRequests = Math.round(positive('leak-requests', opts['leak-requests'], 0));
const leakConcurrency = Math.round(positive('leak-concurrency', opts['leak-concurrency']));
const warmup = Math.round(positive('warmup', opts.warmup, 0));
const size = Math.round(positive('size', opts.size, 8));
const probeMs = Math.round(positive('probe-ms', opts['probe-ms'], 1));
const photo = opts.photo?.match(/^(\d+)x(\d+)$/);
if (opts.photo && !photo) {
  console.error(`bench:load: --photo must be WxH, got "${opts.photo}"\n${USAGE}`);
  process.exit(2);
}

/** Live tfjs tensors in the server process: the main thread plus every inference worker. */
const TENSOR_GAUGE = 'kestrel_tensors_live';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** A 128×128 photo-like JPEG: smooth gradients plus noise, so the decoder has real work. */
async function testJpeg(side: number): Promise<Buffer> {
  const raw = Buffer.alloc(side * side * 3);
  let s = 7;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const px = Math.floor(i / 3);
    raw[i] = (((px % side) * 2 + Math.floor(px / side)) & 0xff) ^ ((s >>> 16) & 31);
  }
  return sharp(raw, { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

/** A real photograph at a camera's resolution: what DeepStack-style clients post (and what is dear to decode). */
async function photoJpeg(width: number, height: number): Promise<Buffer> {
  return sharp('test/fixtures/astronaut.jpg').resize(width, height, { fit: 'cover', kernel: 'cubic' }).jpeg({ quality: 92 }).toBuffer();
}

/**
 * While a level runs: /healthz every probeMs (its latency is what a liveness probe sees) and the server's
 * resident memory every 250 ms (its peak).
 */
function probe(base: string): { stop(): Promise<{ healthzP99Ms: number; healthzMaxMs: number; healthzN: number; healthzFailures: number; peakRssMiB: number }> } {
  const lat: number[] = [];
  let failures = 0;
  let peak = 0;
  let running = true;
  const health = (async () => {
    while (running) {
      const t0 = performance.now();
      const r = await fetch(`${base}/healthz`).catch(() => undefined);
      if (r) await r.arrayBuffer();
      if (!r || r.status !== 200) failures++;
      lat.push(performance.now() - t0);
      await new Promise((res) => setTimeout(res, probeMs));
    }
  })();
  const memory = (async () => {
    while (running) {
      const g = await gauges(base).catch(() => undefined);
      if (g && g.rssBytes > peak) peak = g.rssBytes;
      await new Promise((res) => setTimeout(res, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await Promise.all([health, memory]);
      const s = [...lat].sort((a, b) => a - b);
      const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.floor((q / 100) * s.length))] : Number.NaN);
      return { healthzP99Ms: +at(99).toFixed(1), healthzMaxMs: +(s[s.length - 1] ?? Number.NaN).toFixed(1), healthzN: s.length, healthzFailures: failures, peakRssMiB: +(peak / 2 ** 20).toFixed(1) };
    },
  };
}

function startServer(port: number): { child: ChildProcess; output: () => string } {
  const entry = opts.dist ? ['dist/src/server/server.js'] : ['--import', 'tsx', 'src/server/server.ts'];
  if (opts.dist && !existsSync(entry[0])) {
    console.error('bench:load: --dist needs `npm run build` first');
    process.exit(2);
  }
  // warn: the per-request info lines would make the benchmark measure logging.
  const child = spawn(process.execPath, entry, { env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => out };
}

async function waitReady(base: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) during start-up:\n${output()}`);
    const r = await fetch(`${base}/readyz`).catch(() => undefined);
    if (r?.status === 200) return;
    if (r) await r.arrayBuffer();
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`the server was not ready within 120 s:\n${output()}`);
}

interface Gauges {
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  tensors: number;
  tensorBytes: number;
  cpuSeconds: number;
}

async function gauges(base: string): Promise<Gauges> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? Number.NaN : Number(line.slice(name.length + 1).split(' ')[0]);
  };
  return {
    rssBytes: value('kestrel_process_resident_memory_bytes'),
    heapUsedBytes: value('kestrel_nodejs_heap_size_used_bytes'),
    externalBytes: value('kestrel_nodejs_external_memory_bytes'),
    tensors: value(TENSOR_GAUGE),
    tensorBytes: value('kestrel_tfjs_bytes'),
    cpuSeconds: value('kestrel_process_cpu_seconds_total'),
  };
}

interface Outcome {
  requests: number;
  ok: number;
  status503: number;
  /** Non-2xx answers other than 503, plus socket errors and timeouts. */
  errors: number;
  errorDetail: Record<string, number>;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuMsPerRequest: number;
}

function outcome(r: Result, cpuSeconds: number): Outcome {
  let ok = 0;
  let status503 = 0;
  const errorDetail: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(r.statusCodeStats)) {
    if (code.startsWith('2')) ok += count;
    else if (code === '503') status503 += count;
    else errorDetail[code] = count;
  }
  if (r.errors - r.timeouts > 0) errorDetail.socket = r.errors - r.timeouts;
  if (r.timeouts > 0) errorDetail.timeout = r.timeouts;
  const errors = Object.values(errorDetail).reduce((a, b) => a + b, 0);
  const requests = ok + status503 + errors;
  return {
    requests,
    ok,
    status503,
    errors,
    errorDetail,
    durationS: r.duration,
    rps: ok / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    serverCpuMsPerRequest: requests > 0 ? (cpuSeconds * 1000) / requests : Number.NaN,
  };
}

const body = photo ? await photoJpeg(Number(photo[1]), Number(photo[2])) : await testJpeg(size);
const imageText = photo ? `${photo[1]}×${photo[2]} photograph` : `${size}×${size}`;
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const url = `${base}/v1/detect`;
// With KESTREL_API_KEY set the server wants it on /v1 routes; the key itself never goes into the report.
const headers: Record<string, string> = { 'content-type': 'image/jpeg', ...(process.env.KESTREL_API_KEY ? { authorization: `Bearer ${process.env.KESTREL_API_KEY}` } : {}) };
const server = startServer(port);
const stop = () => {
  if (server.child.exitCode === null) server.child.kill('SIGTERM');
};
process.on('exit', stop);
process.on('SIGINT', () => process.exit(130));

try {
  const t0 = Date.now();
  await waitReady(base, server.child, server.output);
  const startupMs = Date.now() - t0;
  const info = (await (await fetch(`${base}/v1/info`, { headers })).json()) as { backend?: { name?: string | null }; versions?: Record<string, string> };
  // One checked request first: a benchmark of error answers would be worthless.
  const first = await fetch(url, { method: 'POST', body, headers });
  const firstBody = await first.text();
  if (first.status !== 200) throw new Error(`POST /v1/detect answered ${first.status}: ${firstBody.slice(0, 500)}`);
  const answer = JSON.parse(firstBody) as { model: string; head: string; detections: unknown[] };
  if (!Array.isArray(answer.detections)) throw new Error(`unexpected answer: ${firstBody.slice(0, 500)}`);
  console.log(
    `server: ${opts.dist ? 'dist' : 'tsx src'}, backend ${info.backend?.name ?? '?'}, model ${answer.model}/${answer.head}, ready in ${startupMs} ms; ` +
      `image ${imageText} JPEG, ${body.length} bytes; ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(2)}`,
  );

  if (warmup > 0) await autocannon({ url, method: 'POST', headers, body, connections: Math.min(8, warmup), amount: warmup, timeout: 30 });

  type Probed = Awaited<ReturnType<ReturnType<typeof probe>['stop']>>;
  const results: ({ concurrency: number; maxMs: number } & Outcome & Probed)[] = [];
  for (const c of levels) {
    const before = await gauges(base);
    const p = probe(base);
    const r = await autocannon({ url, method: 'POST', headers, body, connections: c, duration: durationS, timeout: 30 });
    const probed = await p.stop();
    const after = await gauges(base);
    const o = { concurrency: c, ...outcome(r, after.cpuSeconds - before.cpuSeconds), maxMs: r.latency.max, ...probed };
    results.push(o);
    console.log(
      `c=${c}: ${o.rps.toFixed(1)} req/s, p50 ${o.p50Ms} ms, p99 ${o.p99Ms} ms, worst ${o.maxMs} ms, ${o.ok} ok, ${o.status503} × 503, ${o.errors} errors ${o.errors ? JSON.stringify(o.errorDetail) : ''}; ` +
        `/healthz p99 ${o.healthzP99Ms} ms, worst ${o.healthzMaxMs} ms (${o.healthzN} probes, ${o.healthzFailures} failed); peak RSS ${o.peakRssMiB} MiB`,
    );
  }

  let leak: Record<string, unknown> | undefined;
  if (leakRequests > 0) {
    const half = Math.max(leakConcurrency, Math.floor(leakRequests / 2));
    const g0 = await gauges(base);
    const a = await autocannon({ url, method: 'POST', headers, body, connections: leakConcurrency, amount: half, timeout: 30 });
    const g1 = await gauges(base);
    const b = await autocannon({ url, method: 'POST', headers, body, connections: leakConcurrency, amount: leakRequests - half, timeout: 30 });
    const g2 = await gauges(base);
    const oa = outcome(a, g1.cpuSeconds - g0.cpuSeconds);
    const ob = outcome(b, g2.cpuSeconds - g1.cpuSeconds);
    const mib = (x: number) => +(x / 2 ** 20).toFixed(1);
    leak = {
      requests: oa.requests + ob.requests,
      concurrency: leakConcurrency,
      ok: oa.ok + ob.ok,
      status503: oa.status503 + ob.status503,
      errors: oa.errors + ob.errors,
      rssMiB: [mib(g0.rssBytes), mib(g1.rssBytes), mib(g2.rssBytes)],
      heapUsedMiB: [mib(g0.heapUsedBytes), mib(g1.heapUsedBytes), mib(g2.heapUsedBytes)],
      externalMiB: [mib(g0.externalBytes), mib(g1.externalBytes), mib(g2.externalBytes)],
      tensors: [g0.tensors, g1.tensors, g2.tensors],
      tensorBytes: [g0.tensorBytes, g1.tensorBytes, g2.tensorBytes],
      secondHalfRssGrowthMiB: mib(g2.rssBytes - g1.rssBytes),
      tensorGrowth: g2.tensors - g0.tensors,
    };
    console.log(
      `leak check, ${leak.requests} requests at c=${leakConcurrency} (before / after ${half} / after all): ` +
        `RSS ${(leak.rssMiB as number[]).join(' / ')} MiB, heap ${(leak.heapUsedMiB as number[]).join(' / ')} MiB, ` +
        `tensors ${(leak.tensors as number[]).join(' / ')}; ${leak.errors} errors, ${leak.status503} × 503`,
    );
    // Tensors are counted exactly, so any growth is a leak; RSS moves with the allocator and GC, so it is reported, not judged.
    console.log(leak.tensorGrowth === 0 ? `live tensors stable (${TENSOR_GAUGE})` : `TENSOR LEAK: ${TENSOR_GAUGE} grew by ${String(leak.tensorGrowth)} over ${String(leak.requests)} requests`);
  }

  const report = {
    date: new Date().toISOString(),
    command: `npm run bench:load -- ${process.argv.slice(2).join(' ')}`.trim(),
    server: opts.dist ? 'dist' : 'tsx',
    backend: info.backend?.name ?? null,
    versions: info.versions ?? {},
    model: `${answer.model}/${answer.head}`,
    image: { width: photo ? Number(photo[1]) : size, height: photo ? Number(photo[2]) : size, format: 'jpeg', bytes: body.length, photograph: Boolean(photo) },
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', loadAverage: loadavg().map((x) => +x.toFixed(2)) },
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('KESTREL_') && k !== 'KESTREL_API_KEY')),
    durationS,
    startupMs,
    levels: results,
    leak,
    tensorGauge: TENSOR_GAUGE,
  };
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, JSON.stringify(report, null, 2) + '\n');

  // For README's "Load" section.
  const n = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(`\n| concurrency | req/s (2xx) | p50 ms | p99 ms | worst ms | server CPU ms/req | 503 | errors | /healthz p99 ms | /healthz worst ms | peak RSS MiB |`);
  console.log(`| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  for (const r of results) console.log(`| ${r.concurrency} | ${n(r.rps, 1)} | ${n(r.p50Ms)} | ${n(r.p99Ms)} | ${n(r.maxMs)} | ${n(r.serverCpuMsPerRequest, 1)} | ${n(r.status503)} | ${n(r.errors)} | ${n(r.healthzP99Ms, 1)} | ${n(r.healthzMaxMs, 1)} | ${n(r.peakRssMiB, 1)} |`);
  if (leak) {
    const rss = leak.rssMiB as number[];
    const t = leak.tensors as number[];
    console.log(`\n| requests | RSS before → half → all (MiB) | live tensors before → half → all | errors |`);
    console.log(`| ---: | ---: | ---: | ---: |`);
    console.log(`| ${n(leak.requests as number)} | ${rss[0]} → ${rss[1]} → ${rss[2]} | ${t[0]} → ${t[1]} → ${t[2]} | ${n(leak.errors as number)} |`);
  }
  console.log(`\n${report.date}, ${report.backend} backend, ${report.model}, ${imageText} JPEG, load average ${report.machine.loadAverage[0]}; JSON: ${opts.out}`);
} catch (err) {
  console.error(`bench:load: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  stop();
}
