// Forecast panel: a series pasted or loaded from a file, POST /v1/sequence/forecast, and a chart of
// the history, the forecast and its prediction interval, with the numbers in a table beside it.
import { postJson } from './api.js';
import { forecastChart } from './chart.js';
import { $, clearError, el, fillSelect, fmt, showError } from './dom.js';

const DATE = /^(\d{4}-\d{2}(?:-\d{2})?)$/;
const unquote = (s) => s.trim().replace(/^"(.*)"$/, '$1').trim();

/**
 * Reads numbers from pasted text or a file: plain numbers separated by commas, spaces or new lines,
 * or CSV rows whose first cell is a date and last cell the value. A first line without any number is
 * taken for a header. Throws naming the first thing that is not a number.
 */
export function parseSeries(text) {
  const values = [];
  const dates = [];
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  for (const [i, line] of lines.entries()) {
    const cells = line.split(/[,;\t]/).map(unquote);
    if (cells.length >= 2 && DATE.test(cells[0])) {
      const v = Number(cells[cells.length - 1]);
      if (cells[cells.length - 1] === '' || !Number.isFinite(v)) throw new Error(`line ${i + 1}: "${cells[cells.length - 1]}" is not a number`);
      values.push(v);
      dates.push(cells[0]);
      continue;
    }
    const tokens = line.split(/[\s,;]+/).map(unquote).filter(Boolean);
    if (i === 0 && tokens.every((t) => !Number.isFinite(Number(t)))) continue;
    for (const t of tokens) {
      const v = Number(t);
      if (!Number.isFinite(v)) throw new Error(`line ${i + 1}: "${t}" is not a number`);
      values.push(v);
    }
  }
  // A date for the last value only means something if every value had one.
  return { values, end: dates.length === values.length && dates.length ? dates[dates.length - 1] : undefined };
}

export function initForecast() {
  const form = $('forecast-form');
  const seriesBox = $('forecast-series');
  const fileInput = $('forecast-file');
  const modelSel = $('forecast-model');
  const modelInfo = $('forecast-model-info');
  const horizon = $('forecast-horizon');
  const endInput = $('forecast-end');
  const intervals = $('forecast-intervals');
  const runButton = $('forecast-run');
  const errorBox = $('forecast-error');
  const result = $('forecast-result');
  const chartBox = $('forecast-chart');
  const caption = $('forecast-caption');
  const announce = $('forecast-status');
  const tbody = $('forecast-table').querySelector('tbody');

  let models = [];

  const describe = () => {
    const m = models.find((x) => x.name === modelSel.value);
    if (!m) {
      modelInfo.textContent = '';
      return;
    }
    const { window: win, horizon: max } = m.input ?? {};
    modelInfo.textContent = `${m.description ?? m.name}. Needs at least ${win} values; forecasts up to ${max} steps.`;
    if (max) {
      horizon.max = String(max);
      if (Number(horizon.value) > max || horizon.dataset.auto !== 'no') horizon.value = String(max);
    }
  };
  modelSel.addEventListener('change', describe);
  horizon.addEventListener('input', () => (horizon.dataset.auto = 'no'));

  const syncEnd = () => {
    try {
      const { end } = parseSeries(seriesBox.value);
      if (end) endInput.value = end;
    } catch {
      // the error is reported when the form is sent
    }
  };
  seriesBox.addEventListener('change', syncEnd);
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    clearError(errorBox);
    seriesBox.value = await file.text();
    syncEnd();
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError(errorBox);
    let parsed;
    try {
      parsed = parseSeries(seriesBox.value);
      if (parsed.values.length === 0) throw new Error('Paste or load a series first.');
    } catch (err) {
      showError(errorBox, err);
      seriesBox.focus();
      return;
    }
    const body = { series: parsed.values, horizon: Number(horizon.value), intervals: intervals.checked };
    if (modelSel.value) body.model = modelSel.value;
    const end = endInput.value.trim();
    if (end) body.end = end;
    runButton.disabled = true;
    result.setAttribute('aria-busy', 'true');
    try {
      const answer = await postJson('v1/sequence/forecast', body);
      show(parsed.values, answer, end);
    } catch (err) {
      showError(errorBox, err);
    } finally {
      runButton.disabled = false;
      result.removeAttribute('aria-busy');
    }
  });

  let last = null;
  let drawnWidth = 0;

  function show(history, answer, end) {
    last = { history, answer, end };
    const iv = answer.intervals;
    result.hidden = false;
    draw();
    caption.textContent = last.title;
    announce.textContent = `Forecast ready: ${answer.horizon} steps; the values are in the table under the chart.`;
    tbody.replaceChildren(
      ...answer.forecast.map((v, i) => el('tr', {}, el('td', {}, i + 1), el('td', {}, fmt(v, 3)), el('td', {}, iv ? fmt(iv.lower[i], 3) : '–'), el('td', {}, iv ? fmt(iv.upper[i], 3) : '–'))),
    );
  }

  function draw() {
    const { history, answer, end } = last;
    const iv = answer.intervals;
    // About a dozen horizons of history: enough to see the pattern, not so much that the forecast is a sliver.
    const shown = Math.min(history.length, Math.max(60, 12 * answer.horizon), 240);
    last.title = `${answer.model}: the last ${shown} of ${history.length} values and a ${answer.horizon}-step forecast${iv ? ` with ${Math.round(iv.level * 100)}% prediction intervals` : ''}`;
    drawnWidth = chartBox.clientWidth || 800;
    chartBox.replaceChildren(
      forecastChart({ history, forecast: answer.forecast, lower: iv?.lower, upper: iv?.upper, end: end || undefined, shown, title: last.title, width: drawnWidth }),
      el(
        'ul',
        { class: 'legend' },
        el('li', { class: 'history' }, 'history'),
        el('li', { class: 'forecast' }, 'forecast'),
        iv ? el('li', { class: 'band' }, `${Math.round(iv.level * 100)}% prediction interval`) : null,
      ),
    );
  }

  // A phone turned sideways or a resized window gets the chart redrawn at its new width.
  new ResizeObserver(() => {
    const w = chartBox.clientWidth;
    if (last && w > 0 && Math.abs(w - drawnWidth) > 40) draw();
  }).observe(chartBox);

  return {
    kind: 'forecaster',
    setModels(list) {
      models = list;
      const def = list.find((m) => m.default) ?? list[0];
      fillSelect(modelSel, list.map((m) => ({ value: m.name, label: m.default ? `${m.name} (default)` : m.name })), def?.name);
      runButton.disabled = list.length === 0;
      if (list.length === 0) modelInfo.textContent = 'This server has no forecaster loaded.';
      else describe();
    },
  };
}
