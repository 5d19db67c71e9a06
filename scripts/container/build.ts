// npm run docker:build: builds the image with docker or podman, tagged kestrel:<version> and kestrel:latest.
// When the Dockerfile's base image is neither in local storage nor reachable in its registry, it is built
// offline first (scripts/container/base-image.sh) and the build is told not to pull.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectEngine, engine, engineOk, type Engine } from './engine.js';
import { isMain } from '../../src/is-main.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The images the Dockerfile's stages start FROM (stage names excluded). */
export function baseImages(dockerfile: string): string[] {
  const stages = new Set<string>();
  const bases: string[] = [];
  for (const line of dockerfile.split('\n')) {
    const m = /^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line);
    if (!m) continue;
    if (!stages.has(m[1]) && !bases.includes(m[1])) bases.push(m[1]);
    if (m[2]) stages.add(m[2]);
  }
  return bases;
}

/** The registry host an image name pulls from (Docker Hub when the name has no host part). */
export function registryOf(image: string): string {
  const first = image.split('/')[0];
  const host = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
  return host === 'docker.io' ? 'registry-1.docker.io' : host;
}

/** Any HTTP answer counts (the v2 endpoint answers 401 without credentials); no answer in 5 s does not. */
async function registryAnswers(image: string): Promise<boolean> {
  try {
    await fetch(`https://${registryOf(image)}/v2/`, { signal: AbortSignal.timeout(5000) });
    return true;
  } catch {
    return false;
  }
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

async function hasImage(e: Engine, image: string): Promise<boolean> {
  return (await engine(e, ['image', 'inspect', image])).code === 0;
}

function runScript(script: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(script, args, { stdio: ['ignore', process.stderr, process.stderr] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited ${code}`))));
  });
}

export interface BuildResult {
  engine: Engine;
  tags: string[];
  /** Base images built offline for this build. */
  basesBuilt: string[];
  buildSeconds: number;
}

export async function buildImage(opts: { engine?: Engine; log?: (line: string) => void } = {}): Promise<BuildResult> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const e = opts.engine ?? detectEngine();
  const t0 = performance.now();
  const basesBuilt: string[] = [];
  let pull = true;
  for (const base of baseImages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))) {
    if (await hasImage(e, base)) {
      pull = false;
      continue;
    }
    if (await registryAnswers(base)) continue;
    if (base !== 'docker.io/library/node:22-bookworm-slim') {
      throw new Error(`${base} is not in local storage and ${registryOf(base)} does not answer; scripts/container/base-image.sh builds only node:22-bookworm-slim`);
    }
    log(`${registryOf(base)} does not answer: building ${base} offline (scripts/container/base-image.sh)`);
    await runScript(join(ROOT, 'scripts', 'container', 'base-image.sh'), [e.name]);
    basesBuilt.push(base);
    pull = false;
  }
  const version = packageVersion();
  const tags = [`kestrel:${version}`, 'kestrel:latest'];
  const args = ['build', ...e.build, ...tags.flatMap((t) => ['-t', t])];
  // Host networking lets the build's `npm ci` use this machine's route to the registry (and its proxy).
  args.push('--network', 'host');
  if (!pull) args.push(e.name === 'podman' ? '--pull=never' : '--pull=false');
  args.push(ROOT);
  log(`${e.name} ${[...e.global, ...args].join(' ')}`);
  await engineOk(e, args, { echo: true });
  return { engine: e, tags, basesBuilt, buildSeconds: (performance.now() - t0) / 1000 };
}

if (isMain(import.meta.url)) {
  buildImage().then(
    (r) => console.log(JSON.stringify({ engine: r.engine.name, tags: r.tags, basesBuilt: r.basesBuilt, buildSeconds: Number(r.buildSeconds.toFixed(1)) })),
    (err: unknown) => {
      console.error(`docker:build failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
