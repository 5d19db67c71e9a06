// What makes the service ready, computed per request from live state.
import type { FastifyInstance } from 'fastify';
import { backendInfo } from '../runtime/backend.js';
import { MODEL_KINDS } from '../runtime/manifest.js';

export interface Readiness {
  ready: boolean;
  checks: { name: string; ok: boolean; detail?: string }[];
  reasons: string[];
}

export function readiness(app: FastifyInstance): Readiness {
  const checks: Readiness['checks'] = [];
  const backend = backendInfo();
  checks.push({ name: 'backend', ok: backend !== undefined, detail: backend ? backend.name : 'tfjs backend not initialised' });

  const registry = app.registry;
  const models = registry.list();
  checks.push({ name: 'models', ok: models.length > 0, detail: models.length > 0 ? `${models.length} loaded` : 'no models are loaded' });

  // A default that failed to load means requests naming no model would reach the wrong one (or none).
  for (const f of registry.failures as readonly { name: string; default?: boolean; kind?: string }[]) {
    if (f.default) checks.push({ name: `model:${f.name}`, ok: false, detail: `default ${f.kind ?? ''} model failed to load`.replace('  ', ' ') });
  }
  for (const kind of MODEL_KINDS) {
    const d = registry.defaultOf(kind);
    if (d) checks.push({ name: `default:${kind}`, ok: true, detail: d.manifest.name });
  }
  if (app.draining) checks.push({ name: 'shutdown', ok: false, detail: 'shutting down' });

  const reasons = checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail ?? 'not ok'}`);
  return { ready: reasons.length === 0, checks, reasons };
}
