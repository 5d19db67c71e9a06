// Which container engine builds and runs the image, and the flags each needs on the machine at hand.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';

export type EngineName = 'docker' | 'podman';

export interface Engine {
  name: EngineName;
  /** Global flags, before the subcommand (podman's runtime and cgroup manager). */
  global: string[];
  /** Extra flags for `run`. */
  run: string[];
  /** Extra flags for `build`. */
  build: string[];
}

/** What the machine offers, gathered by probeHost(); a plain object so engineFor() can be tested. */
export interface HostFacts {
  dockerDaemon: boolean;
  podman: boolean;
  runc: boolean;
  /** /sys/fs/cgroup is cgroup v2 only (not v1 or hybrid). */
  cgroupV2: boolean;
  systemd: boolean;
  /** This process's open-file and process limits, soft and hard. */
  nofile: [number, number];
  nproc: [number, number];
}

const CGROUP2_SUPER_MAGIC = 0x63677270;

function ok(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 15_000 });
  return r.status === 0;
}

/** Soft and hard limit from /proc/self/limits (Linux); Infinity when unlimited or unknown. */
function limits(row: string): [number, number] {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(row));
    const [soft, hard] = (line ?? '').slice(row.length).trim().split(/\s+/);
    const n = (v: string | undefined) => (v === undefined || v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
    return [n(soft), n(hard)];
  } catch {
    return [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  }
}

export function probeHost(): HostFacts {
  let cgroupV2 = false;
  try {
    cgroupV2 = statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC;
  } catch {
    // No cgroup filesystem: leave the engine's defaults alone.
    cgroupV2 = true;
  }
  return {
    // A docker client without a daemon is common (it is on these machines); only a daemon that answers counts.
    dockerDaemon: ok('docker', ['info', '--format', '{{.ServerVersion}}']),
    podman: ok('podman', ['--version']),
    runc: ok('runc', ['--version']),
    cgroupV2,
    systemd: existsSync('/run/systemd/system'),
    nofile: limits('Max open files'),
    nproc: limits('Max processes'),
  };
}

function ulimit(name: string, [soft, hard]: [number, number]): string[] {
  if (!Number.isFinite(soft) || !Number.isFinite(hard) || soft <= 0) return [];
  return ['--ulimit', `${name}=${soft}:${hard}`];
}

/**
 * docker when its daemon answers, else podman (daemonless), else null. `prefer` (KESTREL_CONTAINER_ENGINE)
 * picks one of the two when both are present.
 */
export function engineFor(h: HostFacts, prefer?: string): Engine | null {
  const want = prefer === 'docker' || prefer === 'podman' ? prefer : undefined;
  if (h.dockerDaemon && want !== 'podman') return { name: 'docker', global: [], run: [], build: [] };
  if (!h.podman) return null;
  const global: string[] = [];
  // crun refuses to start containers on cgroup v1 or hybrid hierarchies; runc does not.
  if (!h.cgroupV2 && h.runc) global.push('--runtime', 'runc');
  // Without systemd as init there is no systemd to delegate cgroups to.
  if (!h.systemd) global.push('--cgroup-manager', 'cgroupfs');
  return {
    name: 'podman',
    global,
    // Podman asks for the host's maximum limits by default, which a nested or locked-down host refuses
    // ("error setting rlimits"). Open files: what this process has. Processes (threads count): a fixed
    // 4096, far above what the server starts, because such hosts refuse even their own nproc limit.
    run: [...ulimit('nofile', h.nofile), ...ulimit('nproc', [Math.min(4096, h.nproc[0]), Math.min(4096, h.nproc[1])])],
    // OCI images have no HEALTHCHECK; docker format keeps the Dockerfile's.
    build: ['--format', 'docker'],
  };
}

export function detectEngine(env: NodeJS.ProcessEnv = process.env): Engine {
  const e = engineFor(probeHost(), env.KESTREL_CONTAINER_ENGINE);
  if (!e) throw new Error('no container engine: install podman (Debian: apt-get install podman runc) or start a docker daemon');
  return e;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the engine; `echo` streams its output to this process's stderr (builds), otherwise it is collected. */
export function engine(e: Engine, args: string[], opts: { echo?: boolean; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(e.name, [...e.global, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (opts.echo) process.stderr.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (opts.echo) process.stderr.write(d);
    });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Like engine(), but a non-zero exit is an error naming the command. */
export async function engineOk(e: Engine, args: string[], opts: { echo?: boolean; timeoutMs?: number } = {}): Promise<string> {
  const r = await engine(e, args, opts);
  if (r.code !== 0) throw new Error(`${e.name} ${args.join(' ')} exited ${r.code}:\n${(r.stderr || r.stdout).trim().split('\n').slice(-20).join('\n')}`);
  return r.stdout;
}
