// Text panel: POST /v1/text/generate with Accept: text/event-stream, each sampled character appended
// as its event arrives; Stop closes the connection, which stops the sampling on the server.
import { postEventStream } from './api.js';
import { $, clearError, fillSelect, showError } from './dom.js';

export function initText() {
  const form = $('text-form');
  const modelSel = $('text-model');
  const prompt = $('text-prompt');
  const vocabHint = $('text-vocab');
  const length = $('text-length');
  const temperature = $('text-temperature');
  const temperatureOut = $('text-temperature-out');
  const seed = $('text-seed');
  const runButton = $('text-run');
  const stopButton = $('text-stop');
  const errorBox = $('text-error');
  const result = $('text-result');
  const echo = $('text-echo');
  const output = $('text-output');
  const meta = $('text-meta');

  let models = [];
  let inFlight = null;

  temperature.addEventListener('input', () => (temperatureOut.textContent = Number(temperature.value).toFixed(2)));

  const describe = () => {
    const m = models.find((x) => x.name === modelSel.value);
    const vocab = m?.input?.vocabulary;
    vocabHint.textContent = vocab ? `The prompt may use only the ${[...vocab].length} characters this model knows: ${[...vocab].filter((c) => c !== '\n').join('')} and new lines.` : '';
  };
  modelSel.addEventListener('change', describe);

  stopButton.addEventListener('click', () => inFlight?.abort());

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError(errorBox);
    if (!form.reportValidity()) return;
    inFlight?.abort();
    const abort = new AbortController();
    inFlight = abort;
    const body = { prompt: prompt.value, length: Number(length.value), temperature: Number(temperature.value) };
    if (modelSel.value) body.model = modelSel.value;
    if (seed.value !== '') body.seed = Number(seed.value);
    // The prompt is shown (greyed) before the passage so it reads as the continuation it is.
    echo.textContent = prompt.value;
    output.textContent = '';
    meta.textContent = 'Generating…';
    result.hidden = false;
    output.setAttribute('aria-busy', 'true');
    runButton.disabled = true;
    stopButton.disabled = false;
    const started = performance.now();
    let chars = 0;
    let finished = false;
    try {
      await postEventStream(
        'v1/text/generate',
        body,
        (event, data) => {
          if (event === 'token') {
            output.append(data.text);
            chars += 1;
          } else if (event === 'done') {
            finished = true;
            // The done event carries the whole passage; it is the authority if a token was missed.
            if (output.textContent !== data.text) output.textContent = data.text;
            const secs = (performance.now() - started) / 1000;
            meta.textContent = `${data.model} · ${data.length} characters in ${secs.toFixed(1)} s · finished: ${data.finishReason}`;
          } else if (event === 'error') {
            throw new Error(`${data.title ?? 'Error'}${data.status ? ` (${data.status})` : ''}: the generation stopped on the server`);
          }
        },
        abort.signal,
      );
      if (!finished) meta.textContent = `The stream ended early after ${chars} characters.`;
    } catch (err) {
      if (err && err.name === 'AbortError') meta.textContent = `Stopped after ${chars} characters.`;
      else {
        meta.textContent = '';
        showError(errorBox, err);
      }
    } finally {
      if (inFlight === abort) {
        inFlight = null;
        output.removeAttribute('aria-busy');
        runButton.disabled = false;
        stopButton.disabled = true;
      }
    }
  });

  return {
    kind: 'char-rnn',
    setModels(list) {
      models = list;
      const def = list.find((m) => m.default) ?? list[0];
      fillSelect(modelSel, list.map((m) => ({ value: m.name, label: m.default ? `${m.name} (default)` : m.name })), def?.name);
      runButton.disabled = list.length === 0;
      if (list.length === 0) vocabHint.textContent = 'This server has no text model loaded.';
      else describe();
    },
  };
}
