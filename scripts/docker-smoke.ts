// npm run docker:smoke: replays the Dockerfile without a Docker engine. Each stage gets a folder that
// stands for its WORKDIR; COPY copies exactly what Docker would (honouring .dockerignore), RUN runs
// there, and the runtime stage's CMD is started and asked for /healthz. A file the image would miss
// therefore fails here too.
//
// Two deliberate differences from a real build, both about installing packages on this machine:
//  - The build stage's `npm ci` (the full dev install) is replaced by a link to this checkout's
//    node_modules, installed from the same package-lock.json; re-downloading it proves nothing more.
//  - The runtime stage's `npm ci` runs with --ignore-scripts --prefer-offline: tfjs-node's install script
//    downloads libtensorflow from storage.googleapis.com, which these machines cannot reach. Everything
//    else in that command runs as written, so the production dependency set is the image's; the
//    server then starts on the wasm backend instead of tfjs-node.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (comments dropped, continuations joined). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i];
    if (/^\s*(#|$)/.test(l)) continue;
    while (l.trimEnd().endsWith('\\') && i + 1 < lines.length) l = l.trimEnd().slice(0, -1) + ' ' + lines[++i].trim();
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse "${l}"`);
    const op = m[1].toUpperCase();
    const args = m[2].trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`Dockerfile line ${start + 1}: cannot parse FROM`);
      stages.push({ base: f[1], name: f[2] ?? String(stages.length), instructions: [] });
    } else {
      if (!stages.length) throw new Error(`Dockerfile line ${start + 1}: ${op} before FROM`);
      stages[stages.length - 1].instructions.push({ op, args, line: start + 1 });
    }
  }
  return stages;
}

/** .dockerignore rules in order; the last matching rule decides, `!` re-includes. */
export function dockerIgnore(text: string): (rel: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pat = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '');
      let re = '';
      for (let i = 0; i < pat.length; i++) {
        const c = pat[i];
        if (c === '*' && pat[i + 1] === '*') {
          re += '.*';
          i++;
          if (pat[i + 1] === '/') i++;
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (rel: string) => {
    // A path is excluded when it or any parent folder matches: Docker never sends the contents of an excluded folder.
    const parts = rel.split('/');
    let ignored = false;
    for (const r of rules) {
      for (let k = 1; k <= parts.length; k++) {
        if (r.re.test(parts.slice(0, k).join('/'))) {
          ignored = !r.negate;
          break;
        }
      }
    }
    return ignored;
  };
}

function splitArgs(args: string): string[] {
  if (args.startsWith('[')) return JSON.parse(args) as string[];
  return args.split(/\s+/).filter(Boolean);
}

function copyTree(src: string, dest: string, filter: (abs: string) => boolean): number {
  const s = statSync(src);
  if (!filter(src)) return 0;
  if (s.isDirectory()) {
    mkdirSync(dest, { recursive: true });
    let n = 0;
    for (const e of readdirSync(src)) n += copyTree(join(src, e), join(dest, e), filter);
    return n;
  }
  mkdirSync(dirname(dest), { recursive: true });
  cpSync(src, dest);
  return 1;
}

export interface SmokeOptions {
  root?: string;
  log?: (line: string) => void;
  /** Keep the temporary folder for inspection. */
  keep?: boolean;
  timeoutMs?: number;
  /**
   * Reuse the runtime install when its inputs (command and the files copied before it) are unchanged,
   * as Docker reuses a layer. Default true; false reinstalls.
   */
  layerCache?: boolean;
}

// Like Docker's layer cache: a RUN is keyed by its command and by every file in the stage before it
// runs (for the runtime install: package.json and package-lock.json; for the build: the sources),
// and its result is kept under the system temp dir, one folder per stage and key, newest key only.
// A node_modules the RUN created is moved into the layer and linked back; one that was already there
// (the build stage's link to this checkout) is left out.
const LAYER_CACHE = join(tmpdir(), 'kestrel-docker-smoke-layers');

function filesOf(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.name !== 'node_modules')
    .flatMap((e) => (e.isDirectory() ? filesOf(join(dir, e.name), base) : [relative(base, join(dir, e.name))]))
    .sort();
}

export function layerKey(command: string, dir: string): string {
  const h = createHash('sha256').update(command).update('\0');
  for (const f of filesOf(dir)) h.update(f).update('\0').update(readFileSync(join(dir, f))).update('\0');
  return h.digest('hex');
}

function restoreLayer(layers: string, key: string, dir: string): boolean {
  const layer = join(layers, key);
  if (!existsSync(join(layer, '.complete'))) return false;
  for (const e of readdirSync(layer)) {
    if (e === '.complete') continue;
    if (e === 'node_modules') symlinkSync(join(layer, e), join(dir, e), 'dir');
    else cpSync(join(layer, e), join(dir, e), { recursive: true });
  }
  return true;
}

function saveLayer(layers: string, key: string, dir: string): void {
  try {
    mkdirSync(layers, { recursive: true });
    const staging = mkdtempSync(join(layers, '.staging-'));
    let movedModules = false;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules') {
        if (e.isSymbolicLink()) continue;
        renameSync(join(dir, e.name), join(staging, e.name));
        movedModules = true;
      } else cpSync(join(dir, e.name), join(staging, e.name), { recursive: true });
    }
    writeFileSync(join(staging, '.complete'), new Date().toISOString());
    const layer = join(layers, key);
    try {
      renameSync(staging, layer);
    } catch {
      // Another run stored the same layer first; use theirs.
      rmSync(staging, { recursive: true, force: true });
    }
    if (movedModules) symlinkSync(join(layer, 'node_modules'), join(dir, 'node_modules'), 'dir');
    for (const old of readdirSync(layers)) {
      if (old !== key && !old.startsWith('.staging-')) rmSync(join(layers, old), { recursive: true, force: true });
    }
  } catch {
    // The cache is only an optimisation; the stage itself is complete either way.
  }
}

export interface SmokeResult {
  dir: string;
  healthz: number;
  readyz: { status: number; body: unknown };
  models: { models: { name: string }[]; failures: { name: string; error: string }[] };
  backend: string | null;
  runtime: { user?: string; expose?: string; healthcheck?: string; cmd: string[] };
}

function runShell(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string }> {
  return new Promise((res) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (status) => res({ status, output }));
  });
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

export async function dockerSmoke(opts: SmokeOptions = {}): Promise<SmokeResult> {
  const root = resolve(opts.root ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const log = opts.log ?? (() => {});
  const stages = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  const ignoreText = existsSync(join(root, '.dockerignore')) ? readFileSync(join(root, '.dockerignore'), 'utf8') : '';
  const ignored = dockerIgnore(ignoreText);
  const tmp = mkdtempSync(join(tmpdir(), 'kestrel-docker-smoke-'));
  const last = stages[stages.length - 1];
  const runtimeEnv: Record<string, string> = {};
  const runtime: SmokeResult['runtime'] = { cmd: [] };

  try {
    // Like BuildKit, stages run concurrently and a COPY --from waits for the stage it names.
    const done = new Map<string, Promise<{ dir: string; workdir: string }>>();
    const runStage = async (stage: Stage): Promise<{ dir: string; workdir: string }> => {
      const dir = join(tmp, stage.name);
      mkdirSync(dir);
      let workdir = '/';
      const isRuntime = stage === last;
      const env: Record<string, string> = {};
      const inStage = (p: string) => join(dir, relative(workdir, posix.resolve(workdir, p)));
      for (const ins of stage.instructions) {
        switch (ins.op) {
          case 'WORKDIR':
            workdir = posix.resolve(workdir, ins.args);
            mkdirSync(inStage('.'), { recursive: true });
            break;
          case 'ENV': {
            for (const m of ins.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]] = m[2].replace(/^"|"$/g, '');
            break;
          }
          case 'COPY': {
            const parts = splitArgs(ins.args);
            const from = parts.find((p) => p.startsWith('--from='))?.slice(7);
            const paths = parts.filter((p) => !p.startsWith('--'));
            const dest = paths.pop()!;
            for (const src of paths) {
              if (from) {
                const pending = done.get(from);
                if (!pending) throw new Error(`Dockerfile line ${ins.line}: unknown stage ${from}`);
                const other = await pending;
                const abs = join(other.dir, relative(other.workdir, posix.resolve(other.workdir, src)));
                if (!existsSync(abs)) throw new Error(`Dockerfile line ${ins.line}: ${src} does not exist in stage ${from}`);
                const target = dest.endsWith('/') ? join(inStage(dest), posix.basename(src)) : inStage(dest);
                const n = copyTree(abs, target, () => true);
                log(`[${stage.name}] COPY --from=${from} ${src} -> ${dest} (${n} files)`);
              } else {
                const abs = join(root, src);
                const rel = relative(root, abs).split('\\').join('/');
                if (!existsSync(abs) || ignored(rel)) throw new Error(`Dockerfile line ${ins.line}: ${src} is not in the build context (missing or excluded by .dockerignore)`);
                const target = dest.endsWith('/') && statSync(abs).isFile() ? join(inStage(dest), posix.basename(src)) : inStage(dest);
                const n = copyTree(abs, target, (a) => !ignored(relative(root, a).split('\\').join('/')));
                log(`[${stage.name}] COPY ${src} -> ${dest} (${n} files)`);
              }
            }
            break;
          }
          case 'RUN': {
            let sh = ins.args.replace(/--mount=\S+\s*/g, '');
            if (!isRuntime && /\bnpm ci\b/.test(sh)) {
              symlinkSync(join(root, 'node_modules'), join(inStage('.'), 'node_modules'), 'dir');
              sh = sh.replace(/npm ci\b[^&;|]*/, 'true');
              log(`[${stage.name}] RUN npm ci -> linked this checkout's node_modules`);
            }
            if (isRuntime) sh = sh.replace(/\bnpm ci\b/g, 'npm ci --ignore-scripts --prefer-offline');
            const cacheable = opts.layerCache !== false;
            const key = cacheable ? layerKey(sh, inStage('.')) : '';
            const layers = join(LAYER_CACHE, `${stage.name}-line${ins.line}`);
            if (cacheable && restoreLayer(layers, key, inStage('.'))) {
              log(`[${stage.name}] RUN ${sh} (cached layer ${key.slice(0, 12)})`);
              break;
            }
            log(`[${stage.name}] RUN ${sh}`);
            const r = await runShell(sh, inStage('.'), { ...process.env, ...env });
            if (r.status !== 0) throw new Error(`Dockerfile line ${ins.line}: RUN failed (${r.status}):\n${r.output}`);
            if (cacheable) saveLayer(layers, key, inStage('.'));
            break;
          }
          case 'CMD':
            if (isRuntime) runtime.cmd = splitArgs(ins.args);
            break;
          case 'USER':
            if (isRuntime) runtime.user = ins.args;
            break;
          case 'EXPOSE':
            if (isRuntime) runtime.expose = ins.args;
            break;
          case 'HEALTHCHECK':
            if (isRuntime) runtime.healthcheck = ins.args;
            break;
          case 'ARG':
          case 'LABEL':
            break;
          default:
            throw new Error(`Dockerfile line ${ins.line}: docker-smoke does not replay ${ins.op}`);
        }
      }
      if (isRuntime) Object.assign(runtimeEnv, env);
      return { dir: inStage('.'), workdir };
    };
    for (const stage of stages) {
      const p = runStage(stage);
      p.catch(() => {}); // awaited below; this only stops an unhandled-rejection warning
      done.set(stage.name, p);
    }
    await Promise.all(done.values());

    const app = await done.get(last.name)!;
    if (runtime.cmd.length === 0) throw new Error('the runtime stage has no CMD');
    const port = await freePort();
    const [cmd, ...args] = runtime.cmd;
    const exe = cmd === 'node' ? process.execPath : cmd;
    log(`[${last.name}] CMD ${runtime.cmd.join(' ')} (port ${port})`);
    // Only the image's own ENV plus PATH/HOME: nothing from this checkout's environment leaks in.
    const child = spawn(exe, args, {
      cwd: app.dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...runtimeEnv, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
      let healthz = 0;
      while (Date.now() < deadline && child.exitCode === null) {
        healthz = await fetch(`${base}/healthz`).then(
          (r) => r.status,
          () => 0,
        );
        if (healthz === 200) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      if (healthz !== 200) throw new Error(`/healthz did not answer 200 (exit ${child.exitCode}):\n${out}`);
      const ready = await fetch(`${base}/readyz`);
      const info = (await (await fetch(`${base}/v1/info`)).json()) as { backend: { name: string | null } };
      const models = (await (await fetch(`${base}/v1/models`)).json()) as SmokeResult['models'];
      return { dir: tmp, healthz, readyz: { status: ready.status, body: await ready.json() }, models, backend: info.backend.name, runtime };
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  } finally {
    if (!opts.keep) rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = Date.now();
  dockerSmoke({ log: (l) => console.log(l), keep: process.argv.includes('--keep'), layerCache: !process.argv.includes('--no-cache') }).then(
    (r) => {
      console.log(`GET /healthz -> ${r.healthz}; /readyz -> ${r.readyz.status}; backend ${r.backend}; models: ${r.models.models.map((m) => m.name).join(', ') || 'none'}`);
      if (r.models.failures.length) {
        console.error(`models that failed to load in the runtime stage: ${JSON.stringify(r.models.failures)}`);
        process.exit(1);
      }
      console.log(`docker smoke passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    },
    (err: unknown) => {
      console.error(`docker smoke failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
