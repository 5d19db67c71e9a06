import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../src/runtime/backend.js';
import { manifestSchema } from '../../src/runtime/manifest.js';
import type { CharRnnModel, GenerateOptions } from '../../src/runtime/models.js';
import { Registry } from '../../src/runtime/registry.js';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig } from '../../src/server/config.js';
import { loadCharRnnFromDir, type KestrelCharRnn } from '../../src/text/char-rnn-model.js';
import { CharRnnNet } from '../../src/text/network.js';
import { saveModel } from '../../src/text/weights-io.js';

const VOCAB = '\n abcdefghijklmnopqrstuvwxyz.';
let dir: string;
let model: KestrelCharRnn;

before(async () => {
  await initBackend();
  dir = await mkdtemp(join(tmpdir(), 'kestrel-text-routes-'));
  const net = new CharRnnNet({ cell: 'lstm', layers: 1, hidden: 16, vocabSize: VOCAB.length, dropout: 0 }, 5);
  tf.tidy(() => net.variables().forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.4, 'float32', i + 1))));
  await saveModel({ dir, name: 'tiny-text', vocabulary: VOCAB, net: net.config, arrays: await net.toArrays(), isDefault: true });
  net.dispose();
  model = await loadCharRnnFromDir(dir);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const appWith = (models: CharRnnModel[]) => buildApp({ config: defaultConfig(), registry: new Registry(models.map((m) => ({ model: m })), []), logger: false });

test('generate: same seed same text, the requested length, the default model when none is named', async () => {
  const app = await appWith([model]);
  const body = { prompt: 'the ', length: 50, temperature: 0.9, topK: 10, topP: 0.95, seed: 1234 };
  const a = await app.inject({ method: 'POST', url: '/v1/text/generate', payload: body });
  assert.equal(a.statusCode, 200, a.body);
  const b = await app.inject({ method: 'POST', url: '/v1/text/generate', payload: { ...body, model: 'tiny-text' } });
  assert.deepEqual(a.json(), b.json());
  assert.equal(a.json().model, 'tiny-text');
  assert.equal(a.json().length, 50);
  assert.equal(a.json().text.length, 50);
  assert.equal(a.json().finishReason, 'length');
  const c = await app.inject({ method: 'POST', url: '/v1/text/generate', payload: { ...body, seed: 99 } });
  assert.notEqual(c.json().text, a.json().text);
  const empty = await app.inject({ method: 'POST', url: '/v1/text/generate', payload: { prompt: '', length: 5, temperature: 0 } });
  assert.equal(empty.statusCode, 200, empty.body);
  assert.equal(empty.json().text, (await model.generate({ prompt: '', length: 5, temperature: 0 })).text);
  await app.close();
});

test('generate: characters outside the vocabulary are a 400 problem naming them; bad parameters are validation problems', async () => {
  const app = await appWith([model]);
  const r = await app.inject({ method: 'POST', url: '/v1/text/generate', payload: { prompt: 'Hello, World', length: 5, temperature: 1 } });
  assert.equal(r.statusCode, 400);
  assert.match(r.headers['content-type'] as string, /application\/problem\+json/);
  assert.deepEqual(r.json().characters, ['H', ',', 'W']);
  assert.match(r.json().detail, /"H", ",", "W"/);
  for (const bad of [{ length: 0 }, { length: 2001 }, { temperature: 2.5 }, { temperature: -0.1 }, { topP: 0 }, { topK: 0 }, { prompt: 'a'.repeat(1001) }, { seed: -1 }]) {
    const v = await app.inject({ method: 'POST', url: '/v1/text/generate', payload: { prompt: 'a', length: 5, temperature: 1, ...bad } });
    assert.equal(v.statusCode, 400, `${JSON.stringify(bad)} → ${v.statusCode}`);
  }
  const unknown = await app.inject({ method: 'POST', url: '/v1/text/generate', payload: { model: 'nope', prompt: 'a', length: 5, temperature: 1 } });
  assert.equal(unknown.statusCode, 404);
  assert.deepEqual(unknown.json().known, ['tiny-text']);
  await app.close();
});

test('score: nats, bits and perplexity agree with the model; out-of-vocabulary text is a 400', async () => {
  const app = await appWith([model]);
  const r = await app.inject({ method: 'POST', url: '/v1/text/score', payload: { text: 'a cat.' } });
  assert.equal(r.statusCode, 200, r.body);
  const want = await model.score('a cat.');
  assert.equal(r.json().nats, want.nats);
  assert.ok(Math.abs(r.json().bitsPerChar - want.nats / Math.LN2) < 1e-12);
  assert.ok(Math.abs(r.json().perplexity - Math.exp(want.nats)) < 1e-9);
  const bad = await app.inject({ method: 'POST', url: '/v1/text/score', payload: { text: 'A CAT' } });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual(bad.json().characters, ['A', 'C', 'T']);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/text/score', payload: { text: '' } })).statusCode, 400);
  await app.close();
});

function parseEvents(raw: string): { event: string; data: unknown }[] {
  return raw
    .split('\n\n')
    .filter((b) => b.trim())
    .map((b) => {
      const ev = /^event: (.*)$/m.exec(b)?.[1] ?? '';
      const data = /^data: (.*)$/m.exec(b)?.[1] ?? 'null';
      return { event: ev, data: JSON.parse(data) };
    });
}

test('generate with Accept: text/event-stream streams one token event per character, then done', async () => {
  const app = await appWith([model]);
  const r = await app.inject({ method: 'POST', url: '/v1/text/generate', headers: { accept: 'text/event-stream' }, payload: { prompt: 'a', length: 40, temperature: 1, seed: 3 } });
  assert.equal(r.statusCode, 200);
  assert.match(r.headers['content-type'] as string, /^text\/event-stream/);
  const events = parseEvents(r.body);
  const tokens = events.filter((e) => e.event === 'token').map((e) => (e.data as { text: string }).text);
  assert.equal(tokens.length, 40);
  const done = events.at(-1)!;
  assert.equal(done.event, 'done');
  const plain = await app.inject({ method: 'POST', url: '/v1/text/generate', payload: { prompt: 'a', length: 40, temperature: 1, seed: 3 } });
  assert.deepEqual(done.data, plain.json());
  assert.equal(tokens.join(''), plain.json().text);
  await app.close();
});

test('a streaming client that disconnects stops the sampling', async () => {
  // A model that emits a character every few ms until told to stop, and reports how it ended.
  let ended: (r: { produced: number; aborted: boolean }) => void = () => {};
  const finished = new Promise<{ produced: number; aborted: boolean }>((res) => (ended = res));
  const slow: CharRnnModel = {
    kind: 'char-rnn',
    manifest: manifestSchema.parse({ name: 'slow', kind: 'char-rnn', version: '1', files: ['w.bin'], input: { vocabulary: VOCAB } }),
    vocabulary: VOCAB,
    async generate(o: GenerateOptions) {
      let text = '';
      for (let i = 0; i < o.length; i++) {
        if (o.signal?.aborted) {
          ended({ produced: i, aborted: true });
          return { text, finishReason: 'aborted' as const };
        }
        text += 'a';
        o.onToken?.('a');
        await new Promise((r) => setTimeout(r, 5));
      }
      ended({ produced: o.length, aborted: false });
      return { text, finishReason: 'length' as const };
    },
    async score() {
      return { nats: 0, bitsPerChar: 0, perplexity: 1 };
    },
    dispose() {},
  };
  const app = await appWith([slow]);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/v1/text/generate', headers: { accept: 'text/event-stream', 'content-type': 'application/json' } }, (res) => {
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += (chunk.toString().match(/event: token/g) ?? []).length;
        if (seen >= 3) {
          req.destroy();
          resolve();
        }
      });
      res.on('error', () => {});
    });
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    req.end(JSON.stringify({ prompt: '', length: 2000, temperature: 1 }));
  });
  const r = await finished;
  assert.equal(r.aborted, true);
  assert.ok(r.produced < 2000, `produced ${r.produced}`);
  await app.close();
});
