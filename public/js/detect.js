// Detect panel: one photo to POST /v1/detect, the answer drawn over the photo by the page itself
// (from the JSON, not the server's ?render), listed in a table, with the timings the API reports.
import { call, getJson } from './api.js';
import { $, clearError, el, fillSelect, fmt, showError, svg } from './dom.js';

// Distinct hues, each dark enough for white label text at 4.5:1 or more (WCAG AA).
const PALETTE = ['#0060a8', '#b34700', '#007a5a', '#a3267a', '#5d4fa8', '#8a5a00', '#2f6f8f', '#b0003a'];

export function initDetect() {
  const form = $('detect-form');
  const fileInput = $('detect-file');
  const drop = $('drop');
  const modelSel = $('detect-model');
  const headSel = $('detect-head');
  const sizeField = $('detect-size-field');
  const sizeSel = $('detect-size');
  const score = $('detect-score');
  const scoreOut = $('detect-score-out');
  const classesBox = $('detect-classes');
  const classesSummary = $('detect-classes-summary');
  const blur = $('detect-blur');
  const blurNote = $('detect-blur-note');
  const errorBox = $('detect-error');
  const result = $('detect-result');
  const img = $('detect-img');
  const boxes = $('detect-boxes');
  const caption = $('detect-caption');
  const announce = $('detect-status');
  const tbody = $('detect-table').querySelector('tbody');
  const timings = $('detect-timings');
  const runButton = $('detect-run');

  let photo = null;
  let shownUrl = '';
  let inFlight = null;
  let detailRequest = 0;

  score.addEventListener('input', () => (scoreOut.textContent = Number(score.value).toFixed(2)));

  const chosenClasses = () => [...classesBox.querySelectorAll('input:checked')].map((c) => c.value);
  classesBox.addEventListener('change', () => {
    const n = chosenClasses().length;
    classesSummary.textContent = n ? `Classes: ${n} chosen` : 'Classes: all';
  });

  async function showModel(name) {
    const ticket = ++detailRequest;
    try {
      const m = await getJson(`v1/models/${encodeURIComponent(name)}`);
      if (ticket !== detailRequest) return;
      fillSelect(headSel, (m.heads ?? []).map((h) => ({ value: h, label: h })), (m.heads ?? [])[0]);
      classesBox.replaceChildren(
        classesBox.querySelector('legend'),
        ...(m.labels ?? []).map((label, i) => {
          const id = `detect-class-${i}`;
          return el('div', { class: 'check' }, el('input', { type: 'checkbox', id, value: label }), el('label', { for: id }, label));
        }),
      );
      classesSummary.textContent = 'Classes: all';
      // Only a model that runs at several input sizes gets a speed choice.
      const sizes = Array.isArray(m.sizes) ? [...new Set(m.sizes.filter((s) => Number.isInteger(s) && s > 0))].sort((a, b) => a - b) : [];
      sizeField.hidden = sizes.length < 2;
      if (sizes.length >= 2) {
        const label = (s, i) => `${s} px${i === 0 ? ' (fastest)' : i === sizes.length - 1 ? ' (most accurate)' : ''}`;
        // Left on the server's choice, no size is sent, so a deployment's own speed setting holds.
        fillSelect(sizeSel, [{ value: '', label: 'Server default' }, ...sizes.map((s, i) => ({ value: String(s), label: label(s, i) }))], '');
      } else {
        sizeSel.replaceChildren();
      }
    } catch (err) {
      if (ticket === detailRequest) showError(errorBox, err);
    }
  }
  modelSel.addEventListener('change', () => void showModel(modelSel.value));

  function choose(file) {
    if (!file) return;
    photo = file;
    void run();
  }
  fileInput.addEventListener('change', () => choose(fileInput.files?.[0]));
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
  }
  for (const type of ['dragleave', 'drop']) drop.addEventListener(type, () => drop.classList.remove('over'));
  // A file dropped anywhere else would make the browser navigate away to it; on the page it counts too.
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    const file = e.dataTransfer?.files?.[0];
    if (!file) return;
    $('tab-detect').click();
    choose(file);
  });
  document.addEventListener('paste', (e) => {
    const item = [...(e.clipboardData?.items ?? [])].find((it) => it.kind === 'file' && it.type.startsWith('image/'));
    if (!item) return;
    e.preventDefault();
    $('tab-detect').click();
    choose(item.getAsFile());
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run();
  });

  async function run() {
    clearError(errorBox);
    if (!photo) {
      showError(errorBox, new Error('Choose, drop or paste a photo first.'));
      fileInput.focus();
      return;
    }
    if (!modelSel.value) {
      showError(errorBox, new Error('This server has no detector loaded.'));
      return;
    }
    inFlight?.abort();
    const abort = new AbortController();
    inFlight = abort;
    const q = new URLSearchParams({ model: modelSel.value, scoreThreshold: score.value });
    if (headSel.value) q.set('head', headSel.value);
    if (!sizeField.hidden && sizeSel.value) q.set('size', sizeSel.value);
    for (const c of chosenClasses()) q.append('classes', c);
    const body = () => {
      const f = new FormData();
      f.append('image', photo, photo.name || 'pasted-image');
      return f;
    };
    runButton.disabled = true;
    result.setAttribute('aria-busy', 'true');
    const started = performance.now();
    try {
      const detectReq = call(`v1/detect?${q}`, { method: 'POST', body: body(), signal: abort.signal, headers: { accept: 'application/json' } }).then((r) => r.json());
      // The server blurs with the faces model; the boxes drawn on top still come from the JSON answer.
      const blurReq = blur.checked ? call('v1/detect?model=faces&render=blur', { method: 'POST', body: body(), signal: abort.signal }) : null;
      const [answer, blurred] = await Promise.all([detectReq, blurReq]);
      const roundTrip = performance.now() - started;
      const picture = blurred ? await blurred.blob() : photo;
      const faces = blurred ? Number(blurred.headers.get('kestrel-detections')) : undefined;
      if (inFlight !== abort) return;
      await show(answer, picture, roundTrip, faces);
    } catch (err) {
      if (inFlight === abort) showError(errorBox, err);
    } finally {
      if (inFlight === abort) {
        inFlight = null;
        runButton.disabled = false;
        result.removeAttribute('aria-busy');
      }
    }
  }

  async function show(answer, picture, roundTrip, faces) {
    if (shownUrl) URL.revokeObjectURL(shownUrl);
    shownUrl = URL.createObjectURL(picture);
    img.src = shownUrl;
    await img.decode().catch(() => undefined);
    const { width: W, height: H } = answer.image;
    img.alt = `The photo sent${faces !== undefined ? ', faces blurred' : ''}, with ${answer.detections.length} detection${answer.detections.length === 1 ? '' : 's'} outlined`;
    result.hidden = false;
    drawBoxes(answer.detections, W, H);
    fillTable(answer.detections);
    const t = answer.timings ?? {};
    timings.replaceChildren(
      ...[
        ['Decode', t.decodeMs],
        ['Inference', t.inferenceMs],
        ['Post-processing', t.postprocessMs],
        ['Round trip (this page)', roundTrip],
      ].flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v === undefined ? '–' : `${fmt(v, 1)} ms`)]),
    );
    const n = answer.detections.length;
    const blurText = faces !== undefined ? ` · ${Number.isFinite(faces) ? faces : '?'} face${faces === 1 ? '' : 's'} blurred by the faces model` : '';
    caption.textContent = `${answer.model} / ${answer.head} · ${n} detection${n === 1 ? '' : 's'} · ${W}×${H} px${blurText}`;
    announce.textContent = `${n} detection${n === 1 ? '' : 's'}; they are listed in the table below the photo.`;
  }

  function drawBoxes(detections, W, H) {
    boxes.setAttribute('viewBox', `0 0 ${W} ${H}`);
    boxes.dataset.width = String(W);
    boxes.dataset.height = String(H);
    // Label size follows the picture so it reads the same on a phone and on a wide screen.
    const fs = Math.max(10, Math.round(Math.max(W, H) / 36));
    const groups = detections.map((d, i) => {
      const colour = PALETTE[d.classId % PALETTE.length];
      const b = d.box;
      const text = `${d.label} ${Math.round(d.score * 100)}%`;
      const labelW = fs * 0.6 * text.length + fs * 0.6;
      const above = b.y >= fs * 1.4;
      const ly = above ? b.y - fs * 1.4 : b.y;
      const lx = Math.min(b.x, Math.max(0, W - labelW));
      return svg(
        'g',
        { class: 'det', 'data-index': i },
        svg('rect', { class: 'box', x: b.x, y: b.y, width: b.width, height: b.height, stroke: colour, 'vector-effect': 'non-scaling-stroke' }),
        svg('rect', { class: 'tag', x: lx, y: ly, width: labelW, height: fs * 1.4, fill: colour }),
        svg('text', { x: lx + fs * 0.3, y: ly + fs * 1.05, 'font-size': fs }, text),
      );
    });
    boxes.replaceChildren(...groups);
    // The tags were sized from an estimate; now that the text is laid out, fit them to it.
    for (const g of groups) {
      const text = g.querySelector('text');
      const tag = g.querySelector('.tag');
      const w = text.getComputedTextLength() + fs * 0.6;
      if (w <= fs * 0.6) continue;
      // Kept inside the picture: a tag for a box at the right edge moves left.
      const x = Math.min(Number(tag.getAttribute('x')), Math.max(0, W - w));
      tag.setAttribute('width', String(w));
      tag.setAttribute('x', String(x));
      text.setAttribute('x', String(x + fs * 0.3));
    }
  }

  function fillTable(detections) {
    const highlight = (i, on) => boxes.querySelector(`g[data-index="${i}"]`)?.classList.toggle('hot', on);
    tbody.replaceChildren(
      ...detections.map((d, i) => {
        const swatch = el('span', { class: 'swatch', 'data-colour': d.classId % PALETTE.length, 'aria-hidden': 'true' });
        const row = el(
          'tr',
          { tabindex: 0 },
          el('td', {}, i + 1),
          el('td', {}, swatch, d.label),
          el('td', {}, fmt(d.score, 3)),
          el('td', {}, fmt(d.box.x, 1)),
          el('td', {}, fmt(d.box.y, 1)),
          el('td', {}, fmt(d.box.width, 1)),
          el('td', {}, fmt(d.box.height, 1)),
        );
        for (const [type, on] of [['mouseenter', true], ['mouseleave', false], ['focus', true], ['blur', false]]) row.addEventListener(type, () => highlight(i, on));
        return row;
      }),
    );
    if (detections.length === 0) tbody.append(el('tr', {}, el('td', { colspan: 7 }, 'Nothing found above the minimum confidence.')));
  }

  return {
    kind: 'detector',
    setModels(detectors, all) {
      const def = detectors.find((m) => m.default) ?? detectors[0];
      fillSelect(modelSel, detectors.map((m) => ({ value: m.name, label: m.default ? `${m.name} (default)` : m.name })), def?.name);
      if (def) void showModel(def.name);
      const faces = all.some((m) => m.name === 'faces' && m.kind === 'detector');
      blur.disabled = !faces;
      blurNote.textContent = faces ? 'Hides faces found by the faces model; the boxes shown are still the chosen model’s.' : 'Needs the faces model, which this server has not loaded.';
    },
  };
}
