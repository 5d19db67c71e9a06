import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { formatOpenApi, generateOpenApi } from '../../src/server/openapi.js';
import { buildApp } from '../../src/server/app.js';
import { defaultConfig } from '../../src/server/config.js';
import { registryOf } from './fake-registry.js';

const COMMITTED = 'openapi/openapi.json';

test('committed openapi/openapi.json matches what the code generates (run npm run openapi)', async () => {
  const generated = formatOpenApi(await generateOpenApi());
  const committed = readFileSync(COMMITTED, 'utf8');
  if (committed !== generated) {
    const a = committed.split('\n');
    const b = generated.split('\n');
    const i = a.findIndex((l, k) => l !== b[k]);
    assert.fail(`${COMMITTED} is stale; first difference at line ${i + 1}:\n  committed: ${a[i]}\n  generated: ${b[i]}\nRun: npm run openapi`);
  }
});

test('the committed document is a valid OpenAPI 3.1 document', async () => {
  const doc = JSON.parse(readFileSync(COMMITTED, 'utf8'));
  const api = (await SwaggerParser.validate(doc)) as { openapi: string; paths: Record<string, unknown> };
  assert.match(api.openapi, /^3\.1\./);
  for (const p of ['/healthz', '/readyz', '/v1/info', '/v1/models', '/v1/models/{name}']) assert.ok(api.paths[p], `${p} documented`);
  // Operational and UI routes are served but not part of the API contract.
  for (const p of ['/metrics', '/openapi.json', '/docs']) assert.equal(api.paths[p], undefined);
});

test('GET /openapi.json serves the same document', async () => {
  const app = await buildApp({ config: defaultConfig(), registry: registryOf([]), logger: false });
  const r = await app.inject('/openapi.json');
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json(), JSON.parse(readFileSync(COMMITTED, 'utf8')));
  await app.close();
});
