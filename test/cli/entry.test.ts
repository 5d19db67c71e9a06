// The CLI as users meet it: through npm's bin link (npx in a clone, or a global install from the packed
// tarball, run from an unrelated folder), and its answers to command lines it does not understand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../src/cli.js';

const ROOT = resolve('.');
const BUILT = join(ROOT, 'dist', 'src', 'cli.js');

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** npm's own variables from an enclosing `npm test` would steer the npm these tests start. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))), ...extra };
}

const shipped = readdirSync(join(ROOT, 'models'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(ROOT, 'models', d.name, 'manifest.json')))
  .map((d) => d.name)
  .sort();

test('an unknown command, subcommand or option, or a stray argument: one line naming it, the usage, exit 2', async () => {
  const cases: [string[], RegExp, RegExp][] = [
    [['bogus'], /^kestrel: unknown command "bogus"$/, /^usage: kestrel <command>/m],
    [['train', 'bogus'], /^kestrel: unknown command "train bogus"$/, /^usage: kestrel train <[a-z-|]*char-rnn[a-z-|]*>/m],
    [['--bogus'], /^kestrel: unknown option --bogus$/, /^usage: kestrel <command>/m],
    [['models', '--bogus'], /^kestrel models: unknown option --bogus$/, /^usage: kestrel models/m],
    [['serve', '--port', '1', 'extra'], /^kestrel serve: unexpected argument "extra"$/, /^usage: kestrel serve/m],
    [['eval', 'detector', '--nope', 'x'], /^kestrel eval detector: unknown option --nope$/, /^usage: kestrel eval detector/m],
  ];
  for (const [argv, first, usage] of cases) {
    const r = await cli(argv);
    assert.equal(r.code, 2, argv.join(' '));
    const [line, blank] = r.err.split('\n');
    assert.match(line, first, argv.join(' '));
    assert.equal(blank, '');
    assert.match(r.err, usage, argv.join(' '));
    assert.equal(r.out, '', `${argv.join(' ')} wrote to stdout`);
  }
});

test('no command: usage on stderr, exit 2; --help and a bare group: usage', async () => {
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.match(none.err, /^usage: kestrel <command>/);
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /kestrel serve/);
  const group = await cli(['eval']);
  assert.equal(group.code, 2);
  assert.match(group.err, /^usage: kestrel eval <[a-z|-]+> \[options\]\n\n/);
  assert.match(group.err, /^ {2}kestrel eval map /m);
  const groupHelp = await cli(['eval', '--help']);
  assert.equal(groupHelp.code, 0);
  assert.match(groupHelp.out, /kestrel eval map/);
});

test('the built CLI runs through a bin link (as npx and global installs start it)', (t) => {
  assert.ok(existsSync(BUILT), `${BUILT} is missing: npm ci (or npm run build) builds it`);
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-bin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const link = join(dir, 'kestrel');
  symlinkSync(BUILT, link);
  const help = spawnSync(link, ['--help'], { encoding: 'utf8', cwd: dir });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: kestrel <command>/);
  const bad = spawnSync(link, ['bogus'], { encoding: 'utf8', cwd: dir });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^kestrel: unknown command "bogus"/);
  // The same through npm's own resolution of the package's bin, as README tells users to run it.
  const npx = spawnSync('npx', ['kestrel', '--help'], { encoding: 'utf8', cwd: ROOT, env: cleanEnv(), timeout: 60_000 });
  assert.equal(npx.status, 0, npx.stderr);
  assert.match(npx.stdout, /^usage: kestrel <command>/);
});

test('npm pack, then npm install -g into a temporary prefix: kestrel --help, models --json and serve work from any folder', { timeout: 300_000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'kestrel-global-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const env = cleanEnv();
  const pack = spawnSync('npm', ['pack', '--pack-destination', tmp, '--silent'], { cwd: ROOT, encoding: 'utf8', env, timeout: 180_000 });
  assert.equal(pack.status, 0, pack.stderr);
  const tarball = join(tmp, pack.stdout.trim().split('\n').pop()!);
  assert.ok(existsSync(tarball), tarball);
  const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n');
  for (const p of ['package/dist/src/cli.js', 'package/dist/tfjs/registrations.cjs', 'package/models/kestrel-fmnist/manifest.json']) assert.ok(listing.includes(p), `${p} not in the tarball`);
  assert.ok(!listing.some((p) => /^package\/(src|test|bench|scripts|\.ci)\//.test(p)), 'the tarball carries the development tree');

  const prefix = join(tmp, 'prefix');
  const install = spawnSync('npm', ['install', '-g', '--prefix', prefix, tarball, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: tmp, encoding: 'utf8', env, timeout: 180_000 });
  assert.equal(install.status, 0, install.stderr);
  const bin = join(prefix, 'bin', 'kestrel');
  const elsewhere = mkdtempSync(join(tmp, 'cwd-'));

  const help = spawnSync(bin, ['--help'], { cwd: elsewhere, encoding: 'utf8', env });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: kestrel <command>/);

  const models = spawnSync(bin, ['models', '--json'], { cwd: elsewhere, encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(models.status, 0, models.stderr);
  assert.deepEqual((JSON.parse(models.stdout) as { name: string }[]).map((m) => m.name).sort(), shipped);

  const server = spawn(bin, ['serve', '--port', '0', '--host', '127.0.0.1'], { cwd: elsewhere, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  server.stderr.on('data', (d: Buffer) => (output += d));
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not listen within 60 s:\n${output}`)), 60_000);
    server.stdout.on('data', (d: Buffer) => {
      output += d;
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    });
    server.on('exit', (code) => reject(new Error(`serve exited ${code}:\n${output}`)));
  });
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  assert.equal(ready.status, 200, output);
  const list = (await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json()) as { models: { name: string }[]; failures: unknown[] };
  assert.deepEqual(list.failures, []);
  assert.deepEqual(list.models.map((m) => m.name).sort(), shipped);
  const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
  server.kill('SIGTERM');
  assert.equal(await exited, 0, output);
});
