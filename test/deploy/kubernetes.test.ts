// The Kubernetes manifests: every object validates against the Kubernetes OpenAPI schemas (via
// kubernetes-models), and the pieces agree with each other and with the app (ports, probe paths, drain bound).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/server/config.js';
import { registryOf } from '../server/fake-registry.js';

const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../../deploy/kubernetes');

// Each supported apiVersion/kind maps to its generated model class, whose validate() checks the schema.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec: any;
}

function parseFile(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(resolve(dir, file), 'utf8'));
  return docs.map((d) => {
    assert.deepEqual(d.errors, [], `${file}: YAML errors`);
    return d.toJS() as unknown;
  });
}

const kustomization = parseFile('kustomization.yaml')[0] as { resources: string[] };
const objects: K8sObject[] = kustomization.resources.flatMap((f) => parseFile(f) as K8sObject[]);
const byKind = (kind: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0]!;
};

function validate(obj: K8sObject): void {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  assert.ok(Model, `no schema model for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}

test('kustomization lists every manifest and the four kinds the service needs', () => {
  assert.deepEqual(kustomization.resources.slice().sort(), ['deployment.yaml', 'hpa.yaml', 'pdb.yaml', 'service.yaml']);
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service']);
});

test('every manifest object validates against the Kubernetes schema', () => {
  for (const obj of objects) assert.doesNotThrow(() => validate(obj), `${obj.kind}/${obj.metadata.name}`);
});

test('the schema validation rejects broken objects (so the check above can fail)', () => {
  const dep = structuredClone(byKind('Deployment'));
  dep.spec.template.spec.containers[0].ports[0].containerPort = 'eighty';
  assert.throws(() => validate(dep));
  const hpa = structuredClone(byKind('HorizontalPodAutoscaler'));
  delete hpa.spec.maxReplicas;
  assert.throws(() => validate(hpa));
  const svc = structuredClone(byKind('Service'));
  delete svc.spec.ports[0].port; // required by ServicePort
  assert.throws(() => validate(svc));
});

test('Service, HPA and PDB point at the Deployment and its pods', () => {
  const dep = byKind('Deployment');
  const podLabels = dep.spec.template.metadata.labels as Record<string, string>;
  const matches = (selector: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
  assert.ok(matches(dep.spec.selector.matchLabels), 'Deployment selector matches its template');
  assert.ok(matches(byKind('Service').spec.selector), 'Service selects the pods');
  assert.ok(matches(byKind('PodDisruptionBudget').spec.selector.matchLabels), 'PDB selects the pods');
  const target = byKind('HorizontalPodAutoscaler').spec.scaleTargetRef;
  assert.deepEqual([target.apiVersion, target.kind, target.name], [dep.apiVersion, dep.kind, dep.metadata.name]);
  assert.ok(byKind('HorizontalPodAutoscaler').spec.metrics.some((m: { resource?: { name: string } }) => m.resource?.name === 'cpu'), 'HPA scales on CPU');
});

test('container port is the Service targetPort and the app PORT', () => {
  const c = byKind('Deployment').spec.template.spec.containers[0];
  const port = c.ports[0].containerPort as number;
  const svcPort = byKind('Service').spec.ports[0];
  assert.ok(svcPort.targetPort === port || svcPort.targetPort === c.ports[0].name, 'Service targetPort reaches the container');
  const env = Object.fromEntries((c.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
  assert.equal(Number(env.PORT), port);
});

test('pod runs non-root, read-only, without privileges, with requests and limits', () => {
  const pod = byKind('Deployment').spec.template.spec;
  const c = pod.containers[0];
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  const tmp = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
  assert.ok(tmp && pod.volumes.some((v: { name: string; emptyDir?: unknown }) => v.name === tmp.name && v.emptyDir), '/tmp is a writable emptyDir');
  for (const r of ['cpu', 'memory']) {
    assert.ok(c.resources.requests[r], `request ${r}`);
    assert.ok(c.resources.limits[r], `limit ${r}`);
  }
});

test('grace period covers the preStop sleep plus the drain bound, which matches the app config', () => {
  const pod = byKind('Deployment').spec.template.spec;
  const c = pod.containers[0];
  const env = Object.fromEntries((c.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
  const drainMs = Number(env.KESTREL_SHUTDOWN_TIMEOUT_MS);
  assert.ok(Number.isInteger(drainMs) && drainMs > 0, 'KESTREL_SHUTDOWN_TIMEOUT_MS is set');
  assert.equal(loadConfig({ KESTREL_SHUTDOWN_TIMEOUT_MS: env.KESTREL_SHUTDOWN_TIMEOUT_MS }).shutdownTimeoutMs, drainMs, 'the app reads the same bound');
  const cmd = c.lifecycle.preStop.exec.command as string[];
  assert.equal(cmd[0], 'sleep');
  const preStopS = Number(cmd[1]);
  assert.ok(preStopS > 0);
  assert.ok(pod.terminationGracePeriodSeconds > preStopS + drainMs / 1000, `grace ${pod.terminationGracePeriodSeconds}s > ${preStopS}s + ${drainMs / 1000}s`);
});

test('probe paths are routes the app serves (liveness 200; readiness 503 while no model is loaded)', async () => {
  const c = byKind('Deployment').spec.template.spec.containers[0];
  const portNames = new Set([c.ports[0].name, c.ports[0].containerPort]);
  for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) assert.ok(portNames.has(p.httpGet.port), 'probe targets the container port');
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');

  const empty = await buildApp({ registry: registryOf([]), logger: false });
  try {
    assert.equal((await empty.inject({ method: 'GET', url: c.livenessProbe.httpGet.path })).statusCode, 200);
    assert.equal((await empty.inject({ method: 'GET', url: c.startupProbe.httpGet.path })).statusCode, 200);
    assert.equal((await empty.inject({ method: 'GET', url: c.readinessProbe.httpGet.path })).statusCode, 503, 'not ready without models');
  } finally {
    await empty.close();
  }
});
