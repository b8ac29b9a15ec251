/**
 * The built output (`npm run build`, made fresh by test/global-build.ts): the bundled CLI and the one-file agent
 * run on plain node; bin/hezo.js runs dist/, refuses a stale dist/ and runs the sources only when asked; the bundle
 * needs no package a production install (`npm ci --omit=dev`) lacks; the Docker image gets no sources, no dev deps.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { type AddressInfo, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Aedes } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AGENT_ENV } from '../../bench/b8-agent-footprint.ts';
import { HealthRecord } from '../../protocols/health.ts';
import { tempDir, waitFor } from '../helpers/agent-harness.ts';
import { runCmd } from '../helpers/run-cmd.ts';

const ROOT = resolve(import.meta.dirname, '../..');
/** The systemd unit's node flags for the agent (checked against deploy/hezo-agent.service below). */
const UNIT_FLAGS = ['--enable-source-maps', '--max-old-space-size=64', '--max-semi-space-size=1', '--single-threaded'];
const DIST = join(ROOT, 'dist');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A folder laid out like the runtime image: bin/hezo.js, dist/, package.json, node_modules - and no sources. */
function imageLikeDir(): string {
  const tmp = tempDir('hezo-dist-');
  cleanups.push(tmp.close);
  mkdirSync(join(tmp.dir, 'bin'));
  cpSync(join(ROOT, 'bin/hezo.js'), join(tmp.dir, 'bin/hezo.js'));
  cpSync(DIST, join(tmp.dir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(tmp.dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(tmp.dir, 'node_modules'));
  return tmp.dir;
}

describe('built output (dist/)', () => {
  it('the bundled CLI runs from a folder with no TypeScript sources', async () => {
    const dir = imageLikeDir();
    expect(existsSync(join(dir, 'cli/main.ts'))).toBe(false);
    const help = await runCmd(process.execPath, [join(dir, 'bin/hezo.js'), '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: hezo <command>');
    const sla = await runCmd(process.execPath, [
      '--enable-source-maps',
      join(dir, 'dist/cli.js'),
      'sla',
      'deadlines',
      '--priority',
      'P1',
      '--opened',
      '2026-11-27T13:00:00Z',
    ]);
    expect(sla.code).toBe(0);
    expect(JSON.parse(sla.stdout)).toMatchObject({ reactionDue: '2026-11-27T14:00:00.000Z' });
    const bad = await runCmd(process.execPath, [join(dir, 'bin/hezo.js'), 'hub', '--nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('dist/agent.js alone (plus node_modules) polls a simulated fleet once with a small heap', async () => {
    const tmp = tempDir('hezo-dist-agent-');
    cleanups.push(tmp.close);
    const configFile = join(tmp.dir, 'a.yaml');
    // --once also checks the broker login: a real (open) aedes broker answers it
    const broker = await Aedes.createBroker();
    const server = createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    });
    const brokerUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const sim: ChildProcess = spawn(
      process.execPath,
      [
        join(DIST, 'cli.js'),
        'sim',
        '--devices',
        '3',
        '--port',
        '0',
        '--agent-config',
        configFile,
        '--mqtt-url',
        brokerUrl,
      ],
      { cwd: tmp.dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    cleanups.push(async () => {
      if (sim.exitCode !== null || sim.signalCode !== null) return;
      const exited = new Promise((r) => sim.once('exit', r));
      sim.kill('SIGTERM');
      await exited;
    });
    await waitFor(
      () => existsSync(configFile) && readFileSync(configFile, 'utf8').includes('devices'),
      20_000,
      'agent config written by the bundled simulator',
    );
    const serials: string[] = parse(readFileSync(configFile, 'utf8')).devices.map((d: { serial: string }) => d.serial);
    const dir = imageLikeDir();
    const once = await runCmd(
      process.execPath,
      [...UNIT_FLAGS, join(dir, 'dist/agent.js'), '--config', configFile, '--once'],
      { cwd: tmp.dir, timeoutMs: 30_000 },
    );
    expect(once.stderr).toBe('');
    expect(once.code).toBe(0);
    const records = once.stdout
      .trim()
      .split('\n')
      .map((l) => HealthRecord.parse(JSON.parse(l)));
    expect(records.map((r) => r.identity.serial).sort()).toEqual([...serials].sort());
    // running (not --once), the built agent publishes valid health records: its publish path (the health check
    // generated at build time, build/compiled-checks-standalone.ts) runs only in the bundle
    const published: Buffer[] = [];
    const allPublished = new Promise<void>((resolveAll) => {
      broker.on('publish', (packet, client) => {
        if (!client || !packet.topic.includes('/health/')) return;
        published.push(Buffer.from(packet.payload));
        if (published.length >= serials.length) resolveAll();
      });
    });
    const running = spawn(process.execPath, [...UNIT_FLAGS, join(dir, 'dist/agent.js'), '--config', configFile], {
      cwd: tmp.dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let runningErr = '';
    running.stderr?.on('data', (d: Buffer) => {
      runningErr += d.toString();
    });
    cleanups.push(async () => {
      if (running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((r) => running.once('exit', r));
      running.kill('SIGTERM');
      await exited;
    });
    // every device's first record arrives, or the agent exits (its stderr then says why)
    await Promise.race([
      allPublished,
      new Promise((_, reject) => running.once('exit', () => reject(new Error(`dist/agent.js exited: ${runningErr}`)))),
    ]);
    for (const payload of published) HealthRecord.parse(JSON.parse(payload.toString('utf8')));
    const bad = await runCmd(process.execPath, [join(dir, 'dist/agent.js'), '--config', join(tmp.dir, 'missing.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('bin/hezo.js refuses a dist/ older than its sources; HEZO_FROM_SOURCE=1 runs the sources', async () => {
    const dir = imageLikeDir();
    mkdirSync(join(dir, 'build'));
    cpSync(join(ROOT, 'build/stamp.mjs'), join(dir, 'build/stamp.mjs'));
    mkdirSync(join(dir, 'cli'));
    const source = join(dir, 'cli/main.ts');
    writeFileSync(
      source,
      "export async function main(): Promise<number> { process.stdout.write('from sources\\n'); return 0; }\n",
    );
    const builtAt = Date.now();
    writeFileSync(
      join(dir, 'dist/build-stamp.json'),
      JSON.stringify({ builtAt, externals: [], inputs: ['cli/main.ts'] }),
    );
    const bin = join(dir, 'bin/hezo.js');

    utimesSync(source, new Date(builtAt - 60_000), new Date(builtAt - 60_000));
    const fresh = await runCmd(process.execPath, [bin, '--help']);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toContain('Usage: hezo <command>');

    utimesSync(source, new Date(builtAt + 60_000), new Date(builtAt + 60_000));
    const stale = await runCmd(process.execPath, [bin, '--help']);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toBe('');
    expect(stale.stderr).toContain('dist/ is older than the sources (cli/main.ts changed)');
    expect(stale.stderr).toContain('npm run build');

    const fromSource = await runCmd(process.execPath, [bin, '--help'], { env: { HEZO_FROM_SOURCE: '1' } });
    expect(fromSource.code).toBe(0);
    expect(fromSource.stdout).toBe('from sources\n');
  });

  it('dist/agent.js runs without zod and yaml: its config is checked by code that runs once, with the same errors', async () => {
    const stamp = JSON.parse(readFileSync(join(DIST, 'build-stamp.json'), 'utf8'));
    expect(stamp.agentPackages).toContain('mqtt');
    expect(stamp.agentPackages).not.toContain('zod');
    expect(stamp.agentPackages).not.toContain('yaml');
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const file = join(tmp.dir, 'agent.yaml');
    writeFileSync(
      file,
      'agentId: a1\nsite: s1\nmqtt:\n  url: mqtt://127.0.0.1:1\npollIntervalMs: 5\ndevices: []\nbogus: 1\n',
    );
    const run = await runCmd(process.execPath, [join(DIST, 'agent.js'), '--config', file], { timeoutMs: 30_000 });
    expect(run.code).toBe(2); // CONFIG_INVALID: the bundle's own AppError class, not the loader's copy
    expect(run.stderr).toContain('pollIntervalMs: Too small: expected number to be >=1000, got 5');
    expect(run.stderr).toContain('bogus: unknown field');
    expect(run.stderr).toContain('customer: expected string');
  });

  it('every package the bundle imports at run time is a production dependency (or an optional one)', () => {
    const stamp = JSON.parse(readFileSync(join(DIST, 'build-stamp.json'), 'utf8'));
    const builtins = new Set(builtinModules);
    // Loaded inside try/catch by ws, debug and pg; a production install may lack them.
    const optional = new Set(['bufferutil', 'utf-8-validate', 'supports-color', 'pg-native', 'cpu-features']);
    const packageOf = (spec: string) =>
      spec
        .split('/')
        .slice(0, spec.startsWith('@') ? 2 : 1)
        .join('/');
    const needed = (stamp.externals as string[])
      .filter((s) => !s.startsWith('node:') && !builtins.has(s) && !optional.has(packageOf(s)))
      .map(packageOf);
    expect(needed).toContain('better-sqlite3');
    for (const name of needed) expect(Object.keys(pkg.dependencies), name).toContain(name);
    for (const name of needed) expect(Object.keys(pkg.devDependencies ?? {}), name).not.toContain(name);
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
  });

  it('the Docker image: built in a stage, runtime gets dist/ and production dependencies only', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    const runtime = stages.at(-1) ?? '';
    expect(stages[0]).toMatch(/RUN npm run build/);
    const copies = runtime.split('\n').filter((l) => l.startsWith('COPY'));
    expect(copies.length).toBeGreaterThan(0);
    for (const line of copies) {
      const from = /--from=(\S+)/.exec(line)?.[1];
      expect(from, line).toBeDefined();
      const src = line.replace(/^COPY\s+--from=\S+\s+/, '').split(/\s+/)[0] ?? '';
      expect(['/app/node_modules', '/app/package.json', '/app/dist', '/app/bin/hezo.js'], line).toContain(src);
      if (src === '/app/node_modules') {
        const stage = stages.find((s) => s.includes(` AS ${from}`)) ?? '';
        expect(stage, 'node_modules come from a production install').toMatch(/RUN npm ci --omit=dev/);
      }
    }
    expect(runtime).not.toMatch(/\.ts\b/);
    expect(runtime).toMatch(/ENTRYPOINT \["node", "--enable-source-maps", "dist\/cli\.js"\]/);
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', 'dist', 'test', 'bench', '.git']) expect(ignore).toContain(p);
    const unit = readFileSync(join(ROOT, 'deploy/hezo-agent.service'), 'utf8');
    expect(unit).toMatch(
      /^ExecStart=\/usr\/bin\/node --enable-source-maps --max-old-space-size=\d+ --max-semi-space-size=1 --single-threaded \S+\/dist\/agent\.js /m,
    );
    // what bench B8 measures the agent with (bench/b8-agent-footprint.ts AGENT_ENV)
    expect(Object.keys(AGENT_ENV)).toContain('MALLOC_ARENA_MAX');
    for (const [k, v] of Object.entries(AGENT_ENV)) expect(unit).toContain(`\nEnvironment=${k}=${v}\n`);
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain(
      '"--enable-source-maps", "--max-old-space-size=64", "--max-semi-space-size=1", "--single-threaded", "dist/agent.js"',
    );
    for (const [k, v] of Object.entries(AGENT_ENV)) expect(compose).toContain(`\n      ${k}: "${v}"`);
  });
});
