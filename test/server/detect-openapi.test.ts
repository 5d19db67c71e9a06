import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import SwaggerParser from '@apidevtools/swagger-parser';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import detectRoutes from '../../src/server/routes/detect.js';
import deepstackRoutes from '../../src/server/routes/deepstack.js';
import { FakeRegistry } from './fake-detector.js';

test('the OpenAPI document lists every detection route with its request and response schemas', async () => {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 'kestrel', version: '0' } }, transform: jsonSchemaTransform });
  app.decorate('registry', new FakeRegistry([]));
  await app.register(detectRoutes);
  await app.register(deepstackRoutes);
  await app.ready();
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> }; parameters?: { name: string }[]; responses: Record<string, unknown> }>> };
  await SwaggerParser.validate(structuredClone(doc) as never);
  const detect = doc.paths['/v1/detect'].post;
  assert.ok(detect.requestBody);
  for (const ct of ['multipart/form-data', 'application/json', 'image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/tiff', 'image/avif']) assert.ok(ct in detect.requestBody.content, ct);
  const params = (detect.parameters ?? []).map((p) => p.name);
  for (const p of ['model', 'head', 'scoreThreshold', 'iouThreshold', 'maxDetections', 'nms', 'classes', 'render']) assert.ok(params.includes(p), p);
  for (const s of ['200', '400', '404', '413', '415', '422']) assert.ok(s in detect.responses, s);
  assert.ok(doc.paths['/v1/detect/batch'].post.requestBody);
  for (const p of ['/v1/vision/detection', '/v1/vision/custom/{model}', '/v1/vision/face']) {
    const op = doc.paths[p].post;
    assert.ok(op.requestBody?.content['multipart/form-data'], p);
    assert.ok('200' in op.responses && '400' in op.responses, p);
  }
  await app.close();
});
