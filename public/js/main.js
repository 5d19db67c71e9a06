// Entry point: tabs, the API-key prompt and the model list the three panels choose from.
import { getJson, onUnauthorized, problemMessage, setApiKey } from './api.js';
import { $ } from './dom.js';
import { initDetect } from './detect.js';
import { initText } from './text.js';
import { initForecast } from './forecast.js';

const status = $('status');

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
  };
  for (const [i, tab] of tabs.entries()) {
    tab.addEventListener('click', () => select(tab, false));
    // Arrow keys move between tabs, Home/End jump to the ends (the WAI-ARIA tabs pattern).
    tab.addEventListener('keydown', (e) => {
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      select(tabs[(to + tabs.length) % tabs.length], true);
    });
  }
}

const panels = [];

async function loadModels() {
  status.textContent = 'Loading the list of models…';
  try {
    const { models, failures } = await getJson('v1/models');
    const byKind = (kind) => models.filter((m) => m.kind === kind);
    for (const p of panels) p.setModels(byKind(p.kind), models);
    const failed = failures.length ? ` ${failures.length} model folder(s) could not be loaded: ${failures.map((f) => f.name).join(', ')}.` : '';
    status.textContent = `${models.length} models loaded.${failed}`;
    $('auth').hidden = true;
  } catch (err) {
    status.textContent = err.status === 401 ? '' : `Could not list the models: ${err.message}`;
  }
}

function setupAuth() {
  const section = $('auth');
  const form = $('auth-form');
  const input = $('auth-key');
  onUnauthorized((problem) => {
    section.hidden = false;
    $('auth-why').textContent = `${problemMessage(problem)}. Enter the server's API key; it is kept in this tab's memory only and forgotten when the tab is closed or reloaded.`;
    input.focus();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setApiKey(input.value.trim());
    input.value = '';
    void loadModels();
  });
}

/** Swagger UI can be switched off (KESTREL_DOCS=false); the link to it goes with it. */
async function checkDocsLink() {
  try {
    const res = await fetch('docs/', { method: 'HEAD', credentials: 'omit' });
    if (!res.ok) $('docs-link').hidden = true;
  } catch {
    $('docs-link').hidden = true;
  }
}

setupTabs();
setupAuth();
void checkDocsLink();
panels.push(initDetect(), initText(), initForecast());
void loadModels();
