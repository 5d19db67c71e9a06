import { test } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { generateOpenApi } from '../../src/server/openapi.js';

test('the OpenAPI document lists every detection route with its request and response schemas', async () => {
  const doc = (await generateOpenApi()) as unknown as {
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> }; parameters?: { name: string }[]; responses: Record<string, unknown>; security?: unknown[] }>>;
  };
  await SwaggerParser.validate(structuredClone(doc) as never);
  const detect = doc.paths['/v1/detect'].post;
  assert.ok(detect.requestBody);
  for (const ct of ['multipart/form-data', 'application/json', 'image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/tiff', 'image/avif']) assert.ok(ct in detect.requestBody.content, ct);
  const params = (detect.parameters ?? []).map((p) => p.name);
  for (const p of ['model', 'head', 'scoreThreshold', 'iouThreshold', 'maxDetections', 'nms', 'classes', 'render', 'blurMode', 'blurStrength']) assert.ok(params.includes(p), p);
  for (const s of ['200', '400', '401', '404', '413', '415', '422', '503']) assert.ok(s in detect.responses, s);
  assert.deepEqual(detect.security, [{ bearerAuth: [] }], 'the native API declares its bearer key');
  const batch = doc.paths['/v1/detect/batch'].post;
  assert.ok(batch.requestBody?.content['multipart/form-data']);
  assert.ok('200' in batch.responses);
  for (const p of ['/v1/vision/detection', '/v1/vision/custom/{model}', '/v1/vision/face']) {
    const op = doc.paths[p].post;
    assert.ok(op.requestBody?.content['multipart/form-data'], p);
    assert.ok('200' in op.responses && '400' in op.responses && '401' in op.responses, p);
    assert.equal(op.security, undefined, `${p} takes its key as the api_key form field`);
  }
});
