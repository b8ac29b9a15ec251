/**
 * Issue 16: two real `hezo hub` processes on one PostgreSQL (HEZO_DATABASE_URL with a password in the environment):
 * they split the partitions; `kill -9` of one makes the other take its partitions after the lease (counted as
 * takeovers); neither process ever prints the database password. Figures: `cluster-figure` lines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait-for.ts';

const PASSWORD = 'kill-test-Pw-9931';
const TOKEN = 'cluster-kill-admin-token-0123';
let postgres: Postgres;
let databaseUrl: string;
const dirs: string[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
  const admin = new pg.Client({ connectionString: postgres.url.replace(/\/hezo$/, '/postgres') });
  await admin.connect();
  await admin.query(`CREATE ROLE hezo_kill LOGIN PASSWORD '${PASSWORD}'`);
  await admin.query('CREATE DATABASE hezo_kill OWNER hezo_kill');
  await admin.end();
  databaseUrl = `postgres://hezo_kill:${PASSWORD}@127.0.0.1:${new URL(postgres.url).port}/hezo_kill`;
});
afterAll(async () => {
  await postgres?.close();
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface HubProcess {
  child: ChildProcess;
  httpUrl: string;
  output(): string;
}

async function spawnHub(node: string): Promise<HubProcess> {
  const dir = mkdtempSync(join(tmpdir(), `hezo-kill-${node}-`));
  dirs.push(dir);
  const file = join(dir, 'hub.yaml');
  writeFileSync(
    file,
    [
      'version: 1',
      `node: ${node}`,
      `dataDir: ${join(dir, 'data')}`,
      'logLevel: debug',
      'http: { host: 127.0.0.1, port: 0 }',
      'mqtt: { host: 127.0.0.1, port: 0 }',
      `api: { token: ${TOKEN} }`,
      'cluster: { partitions: 16, leaseMs: 2000, renewMs: 400 }',
      '',
    ].join('\n'),
  );
  const child = spawn('node', ['bin/hezo.js', 'hub', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HEZO_DATABASE_URL: databaseUrl },
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const line = await waitFor(() => out.split('\n').find((l) => l.includes('"hub serving"')), {
    what: () => `${node} serving (output: ${out.slice(-2000)})`,
    timeoutMs: 30_000,
  });
  return { child, httpUrl: (JSON.parse(line) as { httpUrl: string }).httpUrl, output: () => out };
}

async function partitionsOf(h: HubProcess): Promise<number[]> {
  const body = (await (await fetch(`${h.httpUrl}/healthz`)).json()) as { partitions?: number[] };
  return body.partitions ?? [];
}

async function metric(h: HubProcess, name: string): Promise<number> {
  const text = await (await fetch(`${h.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

it('kill -9 of one hub process: the other takes its partitions after the lease; the password is never printed', async () => {
  const [a, b] = await Promise.all([spawnHub('hub-a'), spawnHub('hub-b')]);
  await waitFor(
    async () => {
      const [pa, pb] = await Promise.all([partitionsOf(a), partitionsOf(b)]);
      return pa.length === 8 && pb.length === 8 && new Set([...pa, ...pb]).size === 16;
    },
    { what: 'an 8/8 split', timeoutMs: 30_000 },
  );
  const victims = await partitionsOf(a);
  const takeoversBefore = await metric(b, 'hezo_cluster_takeovers_total');
  const exited = once(a.child, 'exit');
  const killedAt = Date.now();
  a.child.kill('SIGKILL');
  await exited;
  await waitFor(async () => (await partitionsOf(b)).length === 16, { what: 'hub-b to hold all 16', timeoutMs: 30_000 });
  console.log(`cluster-figure takeover after kill -9 of a hub process: ${Date.now() - killedAt} ms (leaseMs 2000)`);
  expect((await metric(b, 'hezo_cluster_takeovers_total')) - takeoversBefore).toBe(victims.length);
  expect(a.output()).toContain('cluster: partition acquired');
  expect(a.output() + b.output()).not.toContain(PASSWORD);
});
