// The try-it page in a real browser (Debian's chromium, headless, driven by puppeteer-core, which
// never downloads one). The app runs with the models in models/ on an ephemeral 127.0.0.1 port; each
// check compares what the page shows with what the API answered. Screenshots land in
// .tmp/ui-screenshots/ (git-ignored) for a person to look at. Without a chromium executable, or
// without the models a check needs, the tests skip and say why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import puppeteer, { type Browser, type HTTPResponse, type Page } from 'puppeteer-core';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig, type Config } from '../../src/server/config.js';
import { initBackend } from '../../src/runtime/backend.js';
import { loadRegistry, type Registry } from '../../src/runtime/registry.js';
import { manifestSchema } from '../../src/runtime/manifest.js';
import type { CharRnnModel, ModelRegistry } from '../../src/runtime/models.js';
import { registryOf } from './fake-registry.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? '/usr/bin/chromium';
const MODELS = process.env.KESTREL_MODELS_DIR ?? 'models';
const SHOTS = resolve('.tmp/ui-screenshots');
const KEY = 'correct-horse-battery';

// The callbacks handed to page.evaluate run in the page; Node's type library has no DOM to check them against.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const localStorage: any;
declare const sessionStorage: any;
declare const Image: any;
declare const DataTransfer: any;
declare const DragEvent: any;
declare const ClipboardEvent: any;
declare const File: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const noBrowser = existsSync(CHROMIUM) ? false : `no chromium executable at ${CHROMIUM} (install Debian's chromium or set CHROMIUM_PATH; CI installs it)`;

let registry: Registry | undefined;
let browser: Browser | undefined;
const servers: FastifyInstance[] = [];

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface Detection {
  label: string;
  classId: number;
  score: number;
  box: Box;
}
interface DetectAnswer {
  model: string;
  head: string;
  image: { width: number; height: number };
  detections: Detection[];
}

async function serve(apiKey?: string, models: ModelRegistry | undefined = registry, over: Partial<Config> = {}): Promise<string> {
  assert.ok(models);
  const app = await buildApp({ config: defaultConfig({ apiKey, ...over }), registry: models, logger: false });
  servers.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
}

/** A page that records every script error, console error and CSP violation, for the final check. */
async function open(url: string, width = 1280, height = 900): Promise<{ page: Page; problems: string[] }> {
  assert.ok(browser);
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('console', (m) => {
    // 4xx answers the test provokes on purpose are logged by chromium as failed loads; they are checked where they happen.
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.setViewport({ width, height });
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems };
}

const shot = (page: Page, name: string, fullPage = true) => page.screenshot({ path: resolve(SHOTS, name), fullPage });

const isPost = (path: string) => (r: HTTPResponse) => r.request().method() === 'POST' && new URL(r.url()).pathname === path;

async function waitForModels(page: Page, select: string) {
  await page.waitForFunction((s) => (document.querySelector(s))?.options.length, { timeout: 20_000 }, select);
}

async function setValue(page: Page, selector: string, value: string) {
  await page.$eval(
    selector,
    (node, v) => {
      const input = node;
      input.value = v;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.dispatchEvent(new Event('change', { bubbles: true }));
    },
    value,
  );
}

before(async () => {
  if (noBrowser) return;
  mkdirSync(SHOTS, { recursive: true });
  await initBackend();
  registry = await loadRegistry(MODELS);
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container has no user namespace for chromium's sandbox; the page under test is our own.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--font-render-hinting=none'],
  });
});

after(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  registry?.dispose();
});

const has = (kind: string, name?: string) => registry?.list().some((m) => m.kind === kind && (name === undefined || m.manifest.name === name)) ?? false;

test('detect: an uploaded photo gets the API answer drawn box for box over it and listed in the table', { skip: noBrowser }, async (t) => {
  if (!has('detector')) return t.skip(`no detector in ${MODELS}`);
  const base = await serve();
  const { page, problems } = await open(base);
  await waitForModels(page, '#detect-model');
  await setValue(page, '#detect-score', '0.35');
  const answered = page.waitForResponse(isPost('/v1/detect'));
  const input = await page.$('#detect-file');
  assert.ok(input);
  await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(resolve('test/fixtures/astronaut.jpg'));
  const res = await answered;
  assert.equal(res.status(), 200);
  const answer = (await res.json()) as DetectAnswer;
  assert.equal(new URL(res.url()).searchParams.get('scoreThreshold'), '0.35');
  assert.ok(answer.detections.length > 0, 'the photo should give at least one box at 0.35');
  await page.waitForSelector('#detect-table tbody tr td + td');
  await page.waitForFunction((n) => document.querySelectorAll('#detect-boxes g.det').length === n, {}, answer.detections.length);

  // Callbacks run in the page keep to anonymous functions: tsx names the others with a helper the page lacks.
  const drawn = await page.$$eval('#detect-boxes g.det', (gs) =>
    gs.map((g) => {
      const r = g.querySelector('rect.box');
      return { x: Number(r.getAttribute('x')), y: Number(r.getAttribute('y')), width: Number(r.getAttribute('width')), height: Number(r.getAttribute('height')), text: g.querySelector('text')?.textContent ?? '' };
    }),
  );
  assert.equal(drawn.length, answer.detections.length);
  for (const [i, d] of answer.detections.entries()) {
    assert.deepEqual({ x: drawn[i].x, y: drawn[i].y, width: drawn[i].width, height: drawn[i].height }, d.box, `box ${i}`);
    assert.equal(drawn[i].text, `${d.label} ${Math.round(d.score * 100)}%`);
  }
  const rows = await page.$$eval('#detect-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  assert.deepEqual(
    rows.map((r) => [r[1], Number(r[2])]),
    answer.detections.map((d) => [d.label, Number(d.score.toFixed(3))]),
  );

  // On screen, each box sits where the answer says on the photo as displayed (scaled to fit).
  const geometry = await page.evaluate(() => {
    const img = document.querySelector('#detect-img');
    const ib = img.getBoundingClientRect();
    const boxes = [...document.querySelectorAll('#detect-boxes rect.box')].map((r) => {
      const b = r.getBoundingClientRect();
      return { x: b.x - ib.x, y: b.y - ib.y, width: b.width, height: b.height };
    });
    return { width: ib.width, height: ib.height, natural: [img.naturalWidth, img.naturalHeight], boxes };
  });
  assert.deepEqual(geometry.natural, [answer.image.width, answer.image.height]);
  const sx = geometry.width / answer.image.width;
  const sy = geometry.height / answer.image.height;
  for (const [i, d] of answer.detections.entries()) {
    const g = geometry.boxes[i];
    for (const [got, want] of [
      [g.x, d.box.x * sx],
      [g.y, d.box.y * sy],
      [g.width, d.box.width * sx],
      [g.height, d.box.height * sy],
    ]) {
      assert.ok(Math.abs(got - want) < 1.5, `box ${i} on screen: ${JSON.stringify(g)} vs ${JSON.stringify(d.box)} × ${sx}`);
    }
  }
  const timings = await page.$eval('#detect-timings', (n) => n.textContent ?? '');
  assert.match(timings, /Inference\s*[\d.]+ ms/);
  await shot(page, 'detect-desktop.png');

  // Classes narrow the request: tick the first detected label only and run again.
  const label = answer.detections[0].label;
  await page.click('#detect-classes-summary');
  await page.$$eval('#detect-classes input', (inputs, l) => inputs.find((i) => (i).value === l)?.click(), label);
  const narrowed = page.waitForResponse(isPost('/v1/detect'));
  await page.click('#detect-run');
  const nres = await narrowed;
  assert.deepEqual(new URL(nres.url()).searchParams.getAll('classes'), [label]);
  const nanswer = (await nres.json()) as DetectAnswer;
  assert.ok(nanswer.detections.every((d) => d.label === label));
  await page.waitForFunction((n) => document.querySelectorAll('#detect-boxes g.det').length === n, {}, nanswer.detections.length);

  // The speed choice appears only for a model that reports several input sizes.
  const sizes = ((await (await fetch(new URL(`v1/models/${answer.model}`, base))).json()) as { sizes?: number[] }).sizes ?? [];
  const speedShown = await page.$eval('#detect-size-field', (n) => !n.hidden);
  assert.equal(speedShown, sizes.length > 1, `sizes ${JSON.stringify(sizes)}`);
  assert.equal(new URL(nres.url()).searchParams.has('size'), false, 'no size is sent unless one is chosen');

  // A file that is not an image: the API's problem document is shown as a sentence.
  const refused = page.waitForResponse(isPost('/v1/detect'));
  await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(resolve('package.json'));
  assert.equal((await refused).status(), 415);
  await page.waitForSelector('#detect-error:not([hidden])');
  assert.match(await page.$eval('#detect-error', (n) => n.textContent ?? ''), /\(415\): /);

  assert.deepEqual(problems, []);
  await page.close();
});

test('detect: "blur faces" shows the faces model\'s blurred photo with the JSON boxes on top', { skip: noBrowser }, async (t) => {
  if (!has('detector', 'faces')) return t.skip(`no "faces" model in ${MODELS}`);
  const base = await serve();
  const { page, problems } = await open(base);
  await waitForModels(page, '#detect-model');
  // The faces model as the detector too, so the boxes drawn are the regions blurred.
  await page.select('#detect-model', 'faces');
  await page.waitForFunction(() => [...document.querySelector('#detect-head').options].some((o) => o.value === 'ssd'));
  await page.click('#detect-blur');
  await setValue(page, '#detect-score', '0.5');
  const json = page.waitForResponse((r) => isPost('/v1/detect')(r) && !new URL(r.url()).searchParams.has('render'));
  const blurred = page.waitForResponse((r) => isPost('/v1/detect')(r) && new URL(r.url()).searchParams.get('render') === 'blur');
  const input = await page.$('#detect-file');
  await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(resolve('test/fixtures/astronaut.jpg'));
  const [jres, bres] = await Promise.all([json, blurred]);
  assert.equal(bres.status(), 200);
  assert.equal(new URL(bres.url()).searchParams.get('model'), 'faces');
  assert.match(bres.headers()['content-type'] ?? '', /^image\//);
  const faces = Number(bres.headers()['kestrel-detections']);
  assert.ok(faces >= 1, 'the astronaut photo has a face');
  const answer = (await jres.json()) as DetectAnswer;
  assert.ok(answer.detections.length >= 1);
  await page.waitForFunction((n) => document.querySelectorAll('#detect-boxes g.det').length === n, {}, answer.detections.length);
  const caption = await page.$eval('#detect-caption', (n) => n.textContent ?? '');
  assert.match(caption, new RegExp(`${faces} faces? blurred`));
  // The picture shown is the server's blurred one: inside the first face box it differs from the photo sent.
  const differs = await page.evaluate(async (box: Box) => {
    const shown = document.querySelector('#detect-img');
    const original = new Image();
    const file = document.querySelector('#detect-file').files?.[0];
    if (!file) return -1;
    original.src = URL.createObjectURL(file);
    await original.decode();
    const pixels = [shown, original].map((im) => {
      const c = document.createElement('canvas');
      c.width = im.naturalWidth;
      c.height = im.naturalHeight;
      const g = c.getContext('2d');
      g.drawImage(im, 0, 0);
      return g.getImageData(Math.round(box.x), Math.round(box.y), Math.max(1, Math.round(box.width)), Math.max(1, Math.round(box.height))).data;
    });
    let diff = 0;
    for (let i = 0; i < pixels[0].length; i++) diff += Math.abs(pixels[0][i] - pixels[1][i]);
    return diff / pixels[0].length;
  }, answer.detections[0].box);
  assert.ok(differs > 2, `mean absolute pixel difference inside the face box: ${differs}`);
  // Detect again, now that the model is warm, so the screenshot's timings are the usual ones.
  const again = page.waitForResponse((r) => isPost('/v1/detect')(r) && new URL(r.url()).searchParams.get('render') === 'blur');
  await page.click('#detect-run');
  await again;
  await page.waitForFunction(() => !document.querySelector('#detect-result').hasAttribute('aria-busy'));
  await shot(page, 'detect-blur.png');
  assert.deepEqual(problems, []);
  await page.close();
});

test('detect: a photo dropped on the page or pasted into it is sent like a chosen one', { skip: noBrowser }, async (t) => {
  if (!has('detector')) return t.skip(`no detector in ${MODELS}`);
  const base = await serve();
  const { page, problems } = await open(base);
  await waitForModels(page, '#detect-model');
  const bytes = readFileSync('test/fixtures/camera.jpg').toString('base64');
  for (const how of ['drop', 'paste']) {
    const answered = page.waitForResponse(isPost('/v1/detect'));
    // The same events a person's drag or Ctrl+V fires, carrying the file in a DataTransfer.
    await page.evaluate(
      (b64, kind) => {
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([data], 'camera.jpg', { type: 'image/jpeg' }));
        const target = document.querySelector(kind === 'drop' ? '#drop' : 'body');
        target.dispatchEvent(kind === 'drop' ? new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }) : new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
      },
      bytes,
      how,
    );
    const res = await answered;
    assert.equal(res.status(), 200, how);
    const answer = (await res.json()) as DetectAnswer;
    assert.deepEqual(answer.image, { width: 512, height: 512 }, how);
    await page.waitForFunction((n) => document.querySelectorAll('#detect-boxes g.det').length === n && !document.querySelector('#detect-result').hasAttribute('aria-busy'), {}, answer.detections.length);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('detect: a model that reports several input sizes gets a speed choice, sent as size', { skip: noBrowser }, async (t) => {
  if (!has('detector')) return t.skip(`no detector in ${MODELS}`);
  const base = await serve();
  const name = registry?.defaultOf('detector')?.manifest.name ?? '';
  const detail = (await (await fetch(new URL(`v1/models/${name}`, base))).json()) as { sizes?: number[]; input: { width?: number } };
  // A model that has no sizes of its own is given three in its answer, so the page's side can be checked.
  const own = (detail.sizes?.length ?? 0) > 1;
  const sizes = own ? [...(detail.sizes ?? [])].sort((a, b) => a - b) : [96, 128, 160];
  const { page, problems } = await open('about:blank');
  if (!own) {
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      if (new URL(req.url()).pathname === `/v1/models/${name}`) void req.respond({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...detail, sizes: [160, 96, 128] }) });
      else void req.continue();
    });
  }
  await page.goto(base, { waitUntil: 'load' });
  await page.waitForSelector('#detect-size-field:not([hidden])');
  const options = await page.$$eval('#detect-size option', (os) => os.map((o) => [o.value, o.textContent]));
  assert.deepEqual(
    options.map((o) => o[0]),
    ['', ...sizes.map(String)],
  );
  assert.equal(await page.$eval('#detect-size', (n) => n.value), '', "the server's default is chosen at first");
  assert.match(options[1][1] ?? '', /fastest/);
  assert.match(options[options.length - 1][1] ?? '', /most accurate/);
  await page.select('#detect-size', String(sizes[0]));
  const answered = page.waitForResponse(isPost('/v1/detect'));
  const input = await page.$('#detect-file');
  await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(resolve('test/fixtures/camera.jpg'));
  const res = await answered;
  assert.equal(new URL(res.url()).searchParams.get('size'), String(sizes[0]));
  assert.equal(res.status(), 200);
  await page.waitForFunction(() => !document.querySelector('#detect-result').hasAttribute('aria-busy'));
  await page.select('#detect-size', '');
  const plain = page.waitForResponse(isPost('/v1/detect'));
  await page.click('#detect-run');
  assert.equal(new URL((await plain).url()).searchParams.has('size'), false);
  assert.deepEqual(problems, []);
  await page.close();
});

test('detect on a phone-width screen: nothing overflows sideways, the boxes still line up', { skip: noBrowser }, async (t) => {
  if (!has('detector')) return t.skip(`no detector in ${MODELS}`);
  const base = await serve();
  const { page, problems } = await open(base, 390, 844);
  await waitForModels(page, '#detect-model');
  if (has('detector', 'faces')) {
    await page.select('#detect-model', 'faces');
    await page.waitForFunction(() => document.querySelector('#detect-head').options.length > 0);
  }
  const answered = page.waitForResponse(isPost('/v1/detect'));
  const input = await page.$('#detect-file');
  await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(resolve('test/fixtures/camera.jpg'));
  const answer = (await (await answered).json()) as DetectAnswer;
  await page.waitForSelector('#detect-table tbody tr');
  const layout = await page.evaluate(() => {
    const img = document.querySelector('#detect-img').getBoundingClientRect();
    const svg = document.querySelector('#detect-boxes').getBoundingClientRect();
    return { scroll: document.documentElement.scrollWidth, inner: window.innerWidth, img: [img.x, img.y, img.width, img.height], svg: [svg.x, svg.y, svg.width, svg.height] };
  });
  assert.ok(layout.scroll <= layout.inner, `page is ${layout.scroll}px wide in a ${layout.inner}px window`);
  assert.ok(layout.img[2] <= layout.inner);
  for (let k = 0; k < 4; k++) assert.ok(Math.abs(layout.img[k] - layout.svg[k]) < 1, `overlay ${layout.svg} vs photo ${layout.img}`);
  assert.equal(await page.$$eval('#detect-boxes g.det', (g) => g.length), answer.detections.length);
  await shot(page, 'detect-phone.png');
  assert.deepEqual(problems, []);
  await page.close();
});

/**
 * A char-rnn that sends `first`, then holds the stream open until released, then sends `rest`: while
 * it waits, only a page that shows events as they arrive can have `first` on screen.
 */
function gatedCharRnn(first: string, rest: string): { model: CharRnnModel; release: () => void; aborted: Promise<void> } {
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let onAbort = () => {};
  const aborted = new Promise<void>((r) => (onAbort = r));
  const vocabulary = [...new Set(first + rest + 'ROMEO:\n')].join('');
  const model: CharRnnModel = {
    kind: 'char-rnn',
    manifest: manifestSchema.parse({ name: 'gated', kind: 'char-rnn', version: '1', files: ['weights.bin'], input: { vocabulary } }),
    vocabulary,
    async generate(opts) {
      opts.signal?.addEventListener('abort', onAbort);
      let text = '';
      for (const ch of first) {
        text += ch;
        opts.onToken?.(ch);
      }
      await Promise.race([gate, aborted]);
      if (opts.signal?.aborted) return { text, finishReason: 'aborted' };
      for (const ch of rest) {
        text += ch;
        opts.onToken?.(ch);
      }
      return { text, finishReason: 'length' };
    },
    async score() {
      throw new Error('not used');
    },
    dispose() {},
  };
  return { model, release, aborted };
}

test('text: the passage appears as the server sends it, before the stream ends', { skip: noBrowser }, async () => {
  const first = 'To be, or not';
  const rest = ' to be: that is the question.';
  const gated = gatedCharRnn(first, rest);
  const base = await serve(undefined, registryOf([gated.model]));
  const { page, problems } = await open(base);
  await waitForModels(page, '#text-model');
  await page.click('#tab-text');
  await page.click('#text-run');
  await page.waitForFunction((t) => document.querySelector('#text-output').textContent === t, { timeout: 20_000 }, first);
  assert.equal(await page.$eval('#text-output', (n) => n.getAttribute('aria-busy')), 'true');
  assert.equal(await page.$eval('#text-stop', (n) => n.disabled), false, 'Stop is offered while streaming');
  gated.release();
  await page.waitForFunction(() => /finished: length/.test(document.querySelector('#text-meta')?.textContent ?? ''), { timeout: 20_000 });
  assert.equal(await page.$eval('#text-output', (n) => n.textContent), first + rest);
  assert.equal(await page.$eval('#text-echo', (n) => n.textContent), await page.$eval('#text-prompt', (n) => n.value), 'the prompt is shown before the passage');
  assert.equal(await page.$eval('#text-output', (n) => n.getAttribute('aria-busy')), null);
  assert.deepEqual(problems, []);
  await page.close();
});

test('text: Stop closes the stream, and the server stops sampling', { skip: noBrowser }, async () => {
  const first = 'Now is the winter';
  const gated = gatedCharRnn(first, ' of our discontent');
  const base = await serve(undefined, registryOf([gated.model]));
  const { page, problems } = await open(base);
  await waitForModels(page, '#text-model');
  await page.click('#tab-text');
  await page.click('#text-run');
  await page.waitForFunction((t) => document.querySelector('#text-output').textContent === t, { timeout: 20_000 }, first);
  await page.click('#text-stop');
  await gated.aborted;
  await page.waitForFunction(() => /Stopped after/.test(document.querySelector('#text-meta')?.textContent ?? ''));
  assert.equal(await page.$eval('#text-meta', (n) => n.textContent), `Stopped after ${first.length} characters.`);
  assert.equal(await page.$eval('#text-error', (n) => n.hidden), true, 'stopping is not an error');
  assert.equal(await page.$eval('#text-run', (n) => n.disabled), false);
  assert.deepEqual(problems, []);
  await page.close();
});

test('text: a passage from the model in models/ matches the API\'s non-streamed answer for the same seed', { skip: noBrowser }, async (t) => {
  if (!has('char-rnn')) return t.skip(`no char-rnn model in ${MODELS}`);
  const base = await serve();
  const { page, problems } = await open(base);
  await waitForModels(page, '#text-model');
  await page.click('#tab-text');
  await setValue(page, '#text-length', '160');
  await setValue(page, '#text-seed', '7');
  await setValue(page, '#text-temperature', '0.7');
  const answered = page.waitForResponse(isPost('/v1/text/generate'));
  await page.click('#text-run');
  const res = await answered;
  assert.match(res.headers()['content-type'] ?? '', /^text\/event-stream/);
  await page.waitForFunction(() => /finished: length/.test(document.querySelector('#text-meta')?.textContent ?? ''), { timeout: 60_000 });
  const shown = await page.$eval('#text-output', (n) => n.textContent ?? '');
  const prompt = await page.$eval('#text-prompt', (n) => n.value);
  const model = await page.$eval('#text-model', (n) => n.value);
  const direct = await fetch(new URL('v1/text/generate', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt, length: 160, temperature: 0.7, seed: 7 }),
  });
  const body = (await direct.json()) as { text: string };
  assert.equal(shown, body.text);
  assert.equal([...shown].length, 160);
  await shot(page, 'text.png');
  await page.setViewport({ width: 390, height: 844 });
  const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(widths[0] <= widths[1], `page is ${widths[0]}px wide in a ${widths[1]}px window`);
  assert.deepEqual(problems, []);
  await page.close();
});

/** 12 years of a monthly series with a trend and a yearly cycle, dated from 1949-01. */
function monthlySeries(): string {
  const lines = ['Month,Value'];
  for (let i = 0; i < 144; i++) {
    const y = 1949 + Math.floor(i / 12);
    const m = (i % 12) + 1;
    const v = 120 + 2.2 * i + (40 + 0.6 * i) * Math.sin((2 * Math.PI * (i % 12)) / 12 - 1.2);
    lines.push(`${y}-${String(m).padStart(2, '0')},${v.toFixed(1)}`);
  }
  return lines.join('\n');
}

test('forecast: the chart plots the API answer (line and interval band) and a bad series shows the problem', { skip: noBrowser }, async (t) => {
  const forecasters = registry?.list().filter((m) => m.kind === 'forecaster') ?? [];
  if (forecasters.length === 0) return t.skip(`no forecaster in ${MODELS}`);
  // A monthly model takes the dated series as is; otherwise any forecaster with the dates ignored.
  const monthly = forecasters.find((m) => (m.manifest as { config?: { calendar?: string } }).config?.calendar === 'monthly');
  const model = monthly ?? forecasters.find((m) => !(m.manifest as { config?: { calendar?: string } }).config?.calendar) ?? forecasters[0];
  const name = model.manifest.name;
  const base = await serve();
  const { page, problems } = await open(base);
  await waitForModels(page, '#forecast-model');
  await page.click('#tab-forecast');
  await page.select('#forecast-model', name);

  // First a series shorter than any window: the problem document is shown, readable.
  await setValue(page, '#forecast-series', '1, 2, 3');
  await setValue(page, '#forecast-end', '');
  const refused = page.waitForResponse(isPost('/v1/sequence/forecast'));
  await page.click('#forecast-run');
  assert.equal((await refused).status(), 400);
  await page.waitForSelector('#forecast-error:not([hidden])');
  const message = await page.$eval('#forecast-error', (n) => n.textContent ?? '');
  assert.match(message, /Invalid forecast request \(400\): series has 3 values; model .* needs at least its window/);

  await setValue(page, '#forecast-series', monthlySeries());
  if (!monthly) await setValue(page, '#forecast-end', '');
  else assert.equal(await page.$eval('#forecast-end', (n) => n.value), '1960-12', 'the date column sets the end');
  const answered = page.waitForResponse(isPost('/v1/sequence/forecast'));
  await page.click('#forecast-run');
  const res = await answered;
  assert.equal(res.status(), 200, await res.text());
  const answer = (await res.json()) as { forecast: number[]; horizon: number; intervals?: { lower: number[]; upper: number[] } };
  assert.equal(answer.horizon, model.kind === 'forecaster' ? model.maxHorizon : 0);
  assert.ok(answer.intervals, 'intervals are asked for by default');
  await page.waitForSelector('#forecast-chart svg polyline.forecast');
  assert.equal(await page.$eval('#forecast-error', (n) => n.hidden), true, 'the earlier error is cleared');

  // Reading the forecast line back through the chart's scale gives the API's numbers.
  const chart = await page.$eval('#forecast-chart svg', (s) => ({
    min: Number(s.getAttribute('data-value-min')),
    max: Number(s.getAttribute('data-value-max')),
    top: Number(s.getAttribute('data-plot-top')),
    bottom: Number(s.getAttribute('data-plot-bottom')),
    forecast: s.querySelector('polyline.forecast')?.getAttribute('points') ?? '',
    history: s.querySelector('polyline.history')?.getAttribute('points') ?? '',
    band: s.querySelector('polygon.band')?.getAttribute('points') ?? '',
  }));
  const ys = (points: string) => points.trim().split(/\s+/).map((p) => Number(p.split(',')[1]));
  const value = (y: number) => chart.max - ((y - chart.top) / (chart.bottom - chart.top)) * (chart.max - chart.min);
  const plotted = ys(chart.forecast).slice(1).map(value);
  assert.equal(plotted.length, answer.forecast.length);
  const tolerance = (chart.max - chart.min) / 500;
  for (const [i, v] of answer.forecast.entries()) assert.ok(Math.abs(plotted[i] - v) < tolerance, `step ${i + 1}: plotted ${plotted[i]}, answer ${v}`);
  assert.equal(ys(chart.history).length, 144);
  const band = ys(chart.band).map(value);
  assert.equal(band.length, 1 + 2 * answer.horizon);
  const { lower, upper } = answer.intervals;
  for (let i = 0; i < answer.horizon; i++) {
    assert.ok(Math.abs(band[1 + i] - upper[i]) < tolerance, `upper ${i + 1}`);
    assert.ok(Math.abs(band[band.length - 1 - i] - lower[i]) < tolerance, `lower ${i + 1}`);
  }
  const rows = await page.$$eval('#forecast-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent))));
  assert.deepEqual(
    rows.map((r) => r[1]),
    answer.forecast.map((v) => Number(v.toFixed(3))),
  );
  await shot(page, 'forecast.png');
  // At phone width the chart is redrawn to the width it is shown at (its labels stay legible) and nothing overflows.
  await page.setViewport({ width: 390, height: 844 });
  await page.waitForFunction(() => {
    const chartSvg = document.querySelector('#forecast-chart svg');
    return chartSvg && Math.abs(Number(chartSvg.getAttribute('viewBox').split(' ')[2]) - chartSvg.getBoundingClientRect().width) < 2;
  });
  const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(widths[0] <= widths[1], `page is ${widths[0]}px wide in a ${widths[1]}px window`);
  await shot(page, 'forecast-phone.png');
  assert.deepEqual(problems, []);
  await page.close();
});

test('with KESTREL_API_KEY set the page asks for the key, keeps it in memory only, and then works', { skip: noBrowser }, async (t) => {
  if (!has('detector')) return t.skip(`no detector in ${MODELS}`);
  const base = await serve(KEY);
  const { page, problems } = await open(base);
  await page.waitForSelector('#auth:not([hidden])');
  assert.match(await page.$eval('#auth-why', (n) => n.textContent ?? ''), /Unauthorized \(401\)/);
  await page.type('#auth-key', 'wrong-key-123');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /not valid/.test(document.querySelector('#auth-why')?.textContent ?? ''));
  await page.type('#auth-key', KEY);
  await page.keyboard.press('Enter');
  await waitForModels(page, '#detect-model');
  await page.waitForSelector('#auth', { hidden: true });
  const answered = page.waitForResponse(isPost('/v1/detect'));
  const input = await page.$('#detect-file');
  await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(resolve('test/fixtures/camera.jpg'));
  const res = await answered;
  assert.equal(res.status(), 200);
  assert.equal(res.request().headers()['authorization'], `Bearer ${KEY}`);
  const stored = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
  assert.ok(!stored.includes(KEY), `the key must not be stored: ${stored}`);
  // A reload forgets it.
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('#auth:not([hidden])');
  assert.deepEqual(problems, []);
  await page.close();
});

test('keyboard: the tabs follow the arrow keys and every control has a label', { skip: noBrowser }, async (t) => {
  if (!registry || registry.list().length === 0) return t.skip(`no models in ${MODELS}`);
  const base = await serve();
  const { page, problems } = await open(base);
  await waitForModels(page, '#detect-model');
  await page.focus('#tab-detect');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-text');
  assert.equal(await page.$eval('#panel-text', (n) => n.hidden), false);
  await page.keyboard.press('End');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-forecast');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-detect');
  assert.equal(await page.$eval('#docs-link', (n) => n.hidden), false, 'Swagger UI is served, so the page links to it');
  const unlabelled = await page.$$eval('input, select, textarea', (els) =>
    els.filter((e) => !(e).labels?.length && !e.getAttribute('aria-label')).map((e) => e.id || e.outerHTML),
  );
  assert.deepEqual(unlabelled, []);
  assert.deepEqual(problems, []);
  await page.close();
});

test('with KESTREL_DOCS=false the page drops its link to the API reference', { skip: noBrowser }, async () => {
  const base = await serve(undefined, registryOf([]), { docs: false });
  const { page, problems } = await open(base);
  await page.waitForSelector('#docs-link', { hidden: true });
  assert.match(await page.$eval('.tagline', (n) => n.innerText), /as any client\.$/, 'what is on screen');
  assert.deepEqual(problems, []);
  await page.close();
});
