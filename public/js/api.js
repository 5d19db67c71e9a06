// The page's only door to the server: the public HTTP API, with the API key (when the server wants one)
// held in this module's memory and nowhere else, so a reload or a closed tab forgets it.

let apiKey = '';
const keyListeners = new Set();

export function setApiKey(key) {
  apiKey = key;
}

/** Called with the failed problem when the server answers 401, so the page can ask for a key. */
export function onUnauthorized(fn) {
  keyListeners.add(fn);
}

/** An API error carrying the RFC 9457 problem document the server sent (or one made up for a network failure). */
export class ApiError extends Error {
  constructor(problem) {
    super(problemMessage(problem));
    this.name = 'ApiError';
    this.problem = problem;
    this.status = problem.status ?? 0;
  }
}

/** One readable sentence from a problem document: its title, its detail, and the fields it names. */
export function problemMessage(p) {
  const parts = [];
  const head = p.status ? `${p.title ?? 'Error'} (${p.status})` : (p.title ?? 'Error');
  parts.push(p.detail ? `${head}: ${p.detail}` : head);
  if (Array.isArray(p.errors)) {
    for (const e of p.errors) {
      if (e && typeof e.message === 'string' && !(p.detail ?? '').includes(e.message)) parts.push(e.field ? `${e.field}: ${e.message}` : e.message);
    }
  }
  if (Array.isArray(p.known) && p.known.length) parts.push(`loaded: ${p.known.join(', ')}`);
  return parts.join(' — ');
}

async function toProblem(res) {
  const type = res.headers.get('content-type') ?? '';
  if (/json/.test(type)) {
    try {
      const body = await res.json();
      if (body && typeof body === 'object') return { status: res.status, ...body };
    } catch {
      // fall through to a problem made from the status line
    }
  }
  const retry = res.headers.get('retry-after');
  return { status: res.status, title: res.statusText || 'Request failed', detail: retry ? `retry after ${retry} s` : undefined };
}

/**
 * fetch() against the API. Resolves with the Response when it is 2xx; otherwise rejects with an
 * ApiError holding the server's problem document.
 */
export async function call(path, init = {}) {
  const headers = new Headers(init.headers ?? {});
  if (apiKey) headers.set('authorization', `Bearer ${apiKey}`);
  let res;
  try {
    res = await fetch(path, { ...init, headers, credentials: 'omit', cache: 'no-store' });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError({ title: 'The server could not be reached', detail: String(err && err.message ? err.message : err) });
  }
  if (res.ok) return res;
  const problem = await toProblem(res);
  if (res.status === 401) for (const fn of keyListeners) fn(problem);
  throw new ApiError(problem);
}

export async function getJson(path, init) {
  return (await call(path, init)).json();
}

export async function postJson(path, body, init = {}) {
  const res = await call(path, { ...init, method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', accept: 'application/json', ...(init.headers ?? {}) } });
  return res.json();
}

/**
 * POSTs JSON asking for server-sent events and calls onEvent(name, data) for each event as it
 * arrives. EventSource cannot POST or send a header, so the stream is read by hand.
 */
export async function postEventStream(path, body, onEvent, signal) {
  const res = await call(path, { method: 'POST', body: JSON.stringify(body), signal, headers: { 'content-type': 'application/json', accept: 'text/event-stream' } });
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/event-stream')) {
    // A server that ignored Accept answered with the whole body at once; treat it as one done event.
    onEvent('done', await res.json());
    return;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) onEvent(event, JSON.parse(data.join('\n')));
    }
  }
}
