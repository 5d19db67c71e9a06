// SIGTERM under load (issue 9). A real server process holds N detect requests in flight (one running,
// the rest queued in the inference engine) when it gets SIGTERM. The contract tested here:
//  - "accepted" means the server had received the request before the signal (here: it sits in the
//    inference engine, running or queued). Every accepted request is finished: a complete 200 with its
//    detections, sent with `Connection: close` so the client does not reuse the socket. Nothing accepted
//    is dropped, reset or cut short, and the engine's queue is not flushed with 503s at shutdown;
//  - a request that reaches the app after the signal (a kept-alive socket, or a connection opened in the
//    moment before the listener closes) is not started: it gets a complete 503 problem+json with
//    Retry-After: the work belongs on another instance, and starting it would stretch the drain;
//  - new connections are refused once the listener has closed, which happens at once. The single
//    exception, which no server can avoid, is a connection caught in the instant of closing (still in the
//    kernel's accept queue, or accepted but not yet read): it is reset. The Kubernetes manifest's preStop
//    delay keeps new traffic away by then;
//  - the process exits 0 once the last answer is written, well within KESTREL_SHUTDOWN_TIMEOUT_MS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request, type IncomingHttpHeaders } from 'node:http';
import { validImages } from './corpus.js';
import { initBackend } from '../../src/runtime/backend.js';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig } from '../../src/server/config.js';
import { FakeDetector, FakeRegistry } from '../server/fake-detector.js';

const IN_FLIGHT = 10;
const PREDICT_MS = 60;
const SHUTDOWN_TIMEOUT_MS = 8000;

interface Outcome {
  status?: number;
  headers?: IncomingHttpHeaders;
  body?: Buffer;
  /** The whole body arrived (its length matches Content-Length, if given). */
  complete: boolean;
  error?: string;
  at: number;
}

/** One request on its own connection, reporting exactly how it ended. */
function call(port: number, method: string, path: string, body?: Buffer, type?: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers: body ? { 'content-type': type ?? 'application/octet-stream', 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        const declared = res.headers['content-length'];
        resolve({ status: res.statusCode, headers: res.headers, body: data, complete: res.complete && (declared === undefined || Number(declared) === data.length), at: Date.now() });
      });
      res.on('error', (e) => resolve({ status: res.statusCode, complete: false, error: (e as NodeJS.ErrnoException).code ?? e.message, at: Date.now() }));
    });
    req.on('error', (e) => resolve({ complete: false, error: (e as NodeJS.ErrnoException).code ?? e.message, at: Date.now() }));
    req.end(body);
  });
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

function startServer(): { child: ChildProcess; port: Promise<number>; output: () => string; waitFor: (re: RegExp, ms: number) => Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/hardening/drain-server.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      KESTREL_BACKEND: 'cpu',
      LOG_LEVEL: 'info',
      KESTREL_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      KESTREL_INFERENCE_CONCURRENCY: '1',
      KESTREL_INFERENCE_QUEUE: String(IN_FLIGHT * 2),
      DRAIN_PREDICT_MS: String(PREDICT_MS),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: { re: RegExp; done: () => void }[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) if (w.re.test(out)) w.done();
    else waiters.push(w);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const waitFor = (re: RegExp, ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (re.test(out)) return resolve();
      const t = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms:\n${out}`)), ms);
      waiters.push({ re, done: () => (clearTimeout(t), resolve()) });
    });
  const port = waitFor(/LISTENING (\d+)/, 30_000).then(() => Number(/LISTENING (\d+)/.exec(out)?.[1]));
  return { child, port, output: () => out, waitFor };
}

test(`SIGTERM with ${IN_FLIGHT} detect requests in flight: all answered 200 in full, new connections refused, exit 0`, async () => {
  const { jpeg } = await validImages();
  const s = startServer();
  const exited = once(s.child, 'exit');
  try {
    const port = await s.port;
    const inflight = Array.from({ length: IN_FLIGHT }, () => call(port, 'POST', '/v1/detect', jpeg, 'image/jpeg'));

    // Accepted = the engine holds them all (one waiting at the model's gate, the rest queued): only then
    // is the signal sent, and only after it are the forward passes let go.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const m = await call(port, 'GET', '/metrics');
      const text = m.body?.toString() ?? '';
      const held = metric(text, 'kestrel_inference_active') + metric(text, 'kestrel_inference_queued');
      if (held === IN_FLIGHT) break;
      assert.ok(Date.now() < deadline, `the engine never held all ${IN_FLIGHT} requests (last: ${held})\n${s.output()}`);
      await new Promise((r) => setTimeout(r, 15));
    }
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    await s.waitFor(/shutting down: draining/, 5000);

    // From here on the app is draining. Probes on new connections until one is refused: the listener
    // closes within moments; what still reaches the app meanwhile must be a complete 503 problem.
    const probes: string[] = [];
    for (;;) {
      const p = await call(port, 'GET', '/v1/models');
      probes.push(String(p.status ?? p.error));
      if (p.error === 'ECONNREFUSED') break;
      assert.ok(Date.now() - t0 < 2000, `new connections still accepted ${Date.now() - t0} ms after SIGTERM: ${probes.join(', ')}`);
      // The one unavoidable exception: a connection that lands in the instant the listener closes (still
      // in the kernel's accept queue, or accepted but not yet read) is reset, not answered.
      if (p.error === 'ECONNRESET') continue;
      assert.equal(p.status, 503, `a request after SIGTERM got ${p.status ?? p.error} ${p.body?.toString().slice(0, 200)}`);
      assert.ok(p.complete, 'a 503 during the drain was cut off');
      assert.match(String(p.headers?.['content-type']), /application\/problem\+json/);
      assert.equal(p.headers?.['retry-after'], '1');
      assert.equal((JSON.parse(p.body?.toString() ?? '') as { status: number }).status, 503);
    }

    s.child.stdin?.write('go\n');
    const answers = await Promise.all(inflight);
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    const exitAt = Date.now();
    for (const [i, a] of answers.entries()) {
      const where = `in-flight request ${i}: ${a.status ?? a.error} ${a.body?.toString().slice(0, 200) ?? ''}`;
      assert.equal(a.status, 200, where);
      assert.ok(a.complete, `${where}: body cut off`);
      assert.equal(a.headers?.connection, 'close', `${where}: a response written during the drain must close its connection`);
      const b = JSON.parse(a.body?.toString() ?? '') as { detections: { label: string }[] };
      assert.equal(b.detections[0]?.label, 'white', where);
      assert.ok(a.at <= exitAt, `${where}: answered after the process exited`);
    }
    // Every answer was produced during the drain, none before the signal.
    assert.ok(Math.min(...answers.map((a) => a.at)) > t0, 'an in-flight request was answered before SIGTERM');
    assert.equal(signal, null, s.output());
    assert.equal(code, 0, s.output());
    assert.ok(exitAt - t0 < SHUTDOWN_TIMEOUT_MS, `exit took ${exitAt - t0} ms`);
    assert.match(s.output(), /shut down cleanly/);
  } finally {
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  }
});

test('while draining, API requests get a 503 problem with Retry-After; probes and /metrics still answer', async () => {
  await initBackend('cpu');
  const app = await buildApp({ config: defaultConfig(), registry: new FakeRegistry([new FakeDetector()]), logger: false });
  try {
    assert.equal((await app.inject('/v1/models')).statusCode, 200);
    app.draining = true;
    const r = await app.inject({ method: 'POST', url: '/v1/detect', payload: (await validImages()).jpeg, headers: { 'content-type': 'image/jpeg' } });
    assert.equal(r.statusCode, 503, r.body);
    assert.match(String(r.headers['content-type']), /application\/problem\+json/);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(r.headers.connection, 'close');
    assert.equal((r.json() as { status: number }).status, 503);
    assert.equal((await app.inject('/healthz')).statusCode, 200);
    assert.equal((await app.inject('/metrics')).statusCode, 200);
    const ready = await app.inject('/readyz');
    assert.equal(ready.statusCode, 503);
    assert.match(ready.body, /shutting down/);
  } finally {
    await app.close();
  }
});
