// npm run docker:smoke: builds the image (docker:build), runs it the way a cluster would (read-only root,
// tmpfs /tmp, its own non-root user), and checks it from outside: /readyz, a real photo through
// POST /v1/detect, /metrics, /openapi.json, the HEALTHCHECK command, and SIGTERM with a request in
// flight (that request completes, the container exits 0). Prints the image size and start-up time as JSON
// on stdout; progress goes to stderr. Any failed check exits 1.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { baseImages, buildImage, ROOT } from './build.js';
import { detectEngine, engine, engineOk, type Engine } from './engine.js';
import { isMain } from '../../src/is-main.js';

/** App layers (everything above the base image) may not grow past this. */
export const APP_LAYERS_MAX_BYTES = 120e6;
const PHOTO = join(ROOT, 'test', 'fixtures', 'astronaut.jpg');

export interface SmokeReport {
  engine: string;
  image: string;
  imageBytes: number;
  baseBytes: number;
  appLayerBytes: number;
  buildSeconds: number;
  startupSeconds: number;
  drainSeconds: number;
  smokeSeconds: number;
  backend: string;
  defaultDetector: string;
  detections: number;
  labels: string[];
}

class SmokeError extends Error {}

function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new SmokeError(message);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function imageBytes(e: Engine, image: string): Promise<number> {
  return Number((await engineOk(e, ['image', 'inspect', '--format', '{{.Size}}', image])).trim());
}

/**
 * POST /v1/detect with the photo as a raw body, sent in two halves: `between` runs after the first half
 * has gone out (and the server has had time to take the request), before the second.
 */
function detectInTwoHalves(port: number, body: Buffer, between: () => Promise<void>): Promise<{ status: number; json: unknown; connection?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/v1/detect', agent: false, headers: { 'content-type': 'image/jpeg', 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')), connection: res.headers.connection });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const half = Math.floor(body.length / 2);
    req.write(body.subarray(0, half));
    between().then(
      () => req.end(body.subarray(half)),
      (err: unknown) => {
        req.destroy();
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

interface ModelList {
  models: { name: string; kind: string; default: boolean; labels?: string[] }[];
  failures: { name: string; error: string }[];
}

interface Detection {
  label: string;
  score: number;
}

export async function smoke(opts: { log?: (line: string) => void } = {}): Promise<SmokeReport> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const t0 = performance.now();
  const e = detectEngine();
  const built = await buildImage({ engine: e, log });
  const image = built.tags[0];
  const [base] = baseImages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const total = await imageBytes(e, image);
  const baseBytes = await imageBytes(e, base);
  const appLayerBytes = total - baseBytes;
  log(`image ${image}: ${(total / 1e6).toFixed(1)} MB, of which ${(appLayerBytes / 1e6).toFixed(1)} MB above ${base}`);
  check(appLayerBytes <= APP_LAYERS_MAX_BYTES, `app layers are ${(appLayerBytes / 1e6).toFixed(1)} MB, over the ${APP_LAYERS_MAX_BYTES / 1e6} MB budget`);

  const port = await freePort();
  const name = `kestrel-smoke-${process.pid}`;
  const url = `http://127.0.0.1:${port}`;
  const runArgs = ['run', '-d', '--name', name, '--read-only', '--tmpfs', '/tmp', '--network', 'host', ...e.run];
  runArgs.push('-e', `PORT=${port}`, '-e', 'HOST=127.0.0.1', '-e', 'KESTREL_SHUTDOWN_TIMEOUT_MS=15000', image);
  const tRun = performance.now();
  await engineOk(e, runArgs);
  try {
    // Start-up: from `run` to the first 200 on /readyz (models loaded, backend up).
    let ready = 0;
    const deadline = tRun + 120_000;
    while (performance.now() < deadline) {
      ready = await fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (ready === 200) break;
      const state = (await engine(e, ['inspect', '--format', '{{.State.Running}}', name])).stdout.trim();
      if (state === 'false') break;
      await sleep(100);
    }
    const startupSeconds = (performance.now() - tRun) / 1000;
    if (ready !== 200) {
      const logs = await engine(e, ['logs', name]);
      throw new SmokeError(`/readyz never answered 200 (last ${ready}); container output:\n${logs.stdout}${logs.stderr}`);
    }
    log(`ready in ${startupSeconds.toFixed(1)} s`);

    const uid = (await engineOk(e, ['exec', name, 'id', '-u'])).trim();
    check(uid !== '0' && uid !== '', `the server runs as uid ${uid}`);
    check((await engine(e, ['exec', name, 'sh', '-c', 'touch /app/.smoke'])).code !== 0, 'the root filesystem is writable; it should be read-only');
    check((await engine(e, ['exec', name, 'sh', '-c', 'touch /tmp/.smoke'])).code === 0, '/tmp is not writable');

    // Nothing of the development tree: the app folder holds what the server runs, and node_modules none
    // of the packages the lockfile marks dev-only, nor the native tfjs-node the image leaves out on purpose.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const appDir = (await engineOk(e, ['exec', name, 'ls', '-A', '/app'])).split('\n').filter(Boolean).sort();
    check(JSON.stringify(appDir) === JSON.stringify(['dist', 'models', 'node_modules', 'package.json', 'public']), `/app holds ${appDir.join(', ')}`);
    const unwanted = Object.entries(lock.packages)
      .filter(([path, meta]) => /^node_modules\/(@[^/]+\/)?[^/@][^/]*$/.test(path) && (meta.dev || path === 'node_modules/@tensorflow/tfjs-node'))
      .map(([path]) => `/app/${path}`);
    check(unwanted.length > 10, `only ${unwanted.length} dev-only packages in package-lock.json`);
    const present = (await engine(e, ['exec', name, 'ls', '-d', ...unwanted])).stdout.split('\n').filter(Boolean);
    check(present.length === 0, `the image carries development packages: ${present.join(', ')}`);

    // The image's own HEALTHCHECK command, run inside the container (engines run it on a schedule only
    // when they have a health monitor, which a daemonless podman without systemd does not).
    const hc = JSON.parse(await engineOk(e, ['image', 'inspect', '--format', '{{json .Config.Healthcheck}}', image])) as { Test?: string[] } | null;
    check(hc?.Test?.[0] === 'CMD' && hc.Test.length > 1, `the image has no HEALTHCHECK CMD (got ${JSON.stringify(hc)})`);
    const hcRun = await engine(e, ['exec', name, ...hc.Test.slice(1)]);
    check(hcRun.code === 0, `the HEALTHCHECK command failed (${hcRun.code}): ${hcRun.stderr}`);

    const info = (await (await fetch(`${url}/v1/info`)).json()) as { backend: { name: string } };
    check(info.backend.name === 'wasm', `backend ${info.backend.name}, expected wasm`);

    const list = (await (await fetch(`${url}/v1/models`)).json()) as ModelList;
    check(list.failures.length === 0, `models that failed to load in the image: ${JSON.stringify(list.failures)}`);
    const shipped = readdirSync(join(ROOT, 'models'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(ROOT, 'models', d.name, 'manifest.json')))
      .map((d) => d.name)
      .sort();
    const served = list.models.map((m) => m.name).sort();
    check(JSON.stringify(served) === JSON.stringify(shipped), `the image serves ${served.join(', ')}; models/ ships ${shipped.join(', ')}`);
    const detector = list.models.find((m) => m.kind === 'detector' && m.default);
    check(detector, 'no default detector');
    const labels = detector.labels ?? [];

    const photo = readFileSync(PHOTO);
    const res = await fetch(`${url}/v1/detect`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: photo });
    const body = (await res.json()) as { detections?: Detection[] };
    check(res.status === 200 && Array.isArray(body.detections), `POST /v1/detect answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    const found = body.detections.map((d) => d.label);
    // The shipped default is the COCO detector: it must know people and find the astronaut.
    check(labels.includes('person'), `the default detector ${detector.name} has no "person" label`);
    check(found.includes('person'), `${detector.name} found no person in astronaut.jpg (found: ${found.join(', ') || 'nothing'})`);
    const page = await fetch(`${url}/`);
    check(page.status === 200 && /text\/html/.test(page.headers.get('content-type') ?? '') && /<html/i.test(await page.text()), `GET / answered ${page.status}: the try-it page is missing from the image`);
    log(`POST /v1/detect astronaut.jpg with ${detector.name}: ${found.length} detections (${[...new Set(found)].join(', ') || 'none'})`);

    const metrics = await fetch(`${url}/metrics`);
    const text = await metrics.text();
    check(metrics.status === 200, `/metrics answered ${metrics.status}`);
    check(/^kestrel_http_requests_total\{[^}]*route="\/v1\/detect"[^}]*status="200"[^}]*\} [1-9]/m.test(text), '/metrics does not count the detect request');

    const oa = await fetch(`${url}/openapi.json`);
    const doc = (await oa.json()) as { openapi?: string; paths?: Record<string, unknown> };
    check(oa.status === 200 && /^3\.1\./.test(doc.openapi ?? '') && doc.paths?.['/v1/detect'], '/openapi.json is not an OpenAPI 3.1 document with /v1/detect');

    // SIGTERM while a detect request is on the wire: the server has its headers (so it has accepted it)
    // but not yet its whole body. It must finish that request, then exit 0.
    const tTerm = { at: 0 };
    const inFlight = await detectInTwoHalves(port, photo, async () => {
      await sleep(300);
      tTerm.at = performance.now();
      await engineOk(e, ['kill', '--signal', 'TERM', name]);
      await sleep(500);
    });
    check(inFlight.status === 200 && Array.isArray((inFlight.json as { detections?: unknown }).detections), `the request in flight at SIGTERM got ${inFlight.status}: ${JSON.stringify(inFlight.json).slice(0, 300)}`);
    check(inFlight.connection === 'close', 'the response during the drain does not close its connection');
    const exit = (await engineOk(e, ['wait', name], { timeoutMs: 30_000 })).trim();
    const drainSeconds = (performance.now() - tTerm.at) / 1000;
    const logs = await engine(e, ['logs', name]);
    check(exit === '0', `the container exited ${exit} after SIGTERM; output:\n${logs.stdout}${logs.stderr}`);
    check(/shut down cleanly/.test(logs.stdout + logs.stderr), 'the server did not log a clean shutdown');
    log(`SIGTERM with a request in flight: it completed, exit 0 after ${drainSeconds.toFixed(1)} s`);

    return {
      engine: e.name,
      image,
      imageBytes: total,
      baseBytes,
      appLayerBytes,
      buildSeconds: round(built.buildSeconds),
      startupSeconds: round(startupSeconds),
      drainSeconds: round(drainSeconds),
      smokeSeconds: round((performance.now() - t0) / 1000),
      backend: info.backend.name,
      defaultDetector: detector.name,
      detections: found.length,
      labels: [...new Set(found)],
    };
  } finally {
    await engine(e, ['rm', '-f', name]);
  }
}

const round = (s: number) => Number(s.toFixed(1));

if (isMain(import.meta.url)) {
  smoke().then(
    (r) => console.log(JSON.stringify(r)),
    (err: unknown) => {
      console.error(`docker:smoke failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
