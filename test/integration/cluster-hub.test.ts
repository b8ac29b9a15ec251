/**
 * Issue 16 wiring: two real hubs with `database.url` (from HEZO_DATABASE_URL, holding a password) on one PostgreSQL
 * split the partitions; `/healthz` says `{status, node, partitions}`; `/metrics` has the lease figures; a hub that
 * stops hands its partitions over; the password never reaches a log line; an unreachable database is a clear start
 * error without the password.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { buildHubConfig } from '../../hub/config-secrets.ts';
import { createHub, type Hub } from '../../hub/hub.ts';
import { REDACT_PATHS } from '../../hub/main.ts';
import { TEST_ADMIN_TOKEN } from '../helpers/hub-fixture.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait-for.ts';

const PASSWORD = 'pg-Secret-4711';
let postgres: Postgres;
let url: string;
const logLines: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
  const admin = new pg.Client({ connectionString: postgres.url.replace(/\/hezo$/, '/postgres') });
  await admin.connect();
  await admin.query(`CREATE ROLE hezo_cluster LOGIN PASSWORD '${PASSWORD}'`);
  await admin.query('CREATE DATABASE hezo_cluster OWNER hezo_cluster');
  await admin.end();
  const { port } = new URL(postgres.url);
  url = `postgres://hezo_cluster:${PASSWORD}@127.0.0.1:${port}/hezo_cluster`;
});
afterAll(async () => {
  await postgres?.close();
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
});

interface RunningHub {
  hub: Hub;
  httpUrl: string;
  get(path: string): Promise<Response>;
}

function makeHub(node: string, databaseUrl: string): Hub {
  const dataDir = mkdtempSync(join(tmpdir(), `hezo-cluster-${node}-`));
  cleanups.push(() => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })));
  const config = buildHubConfig(
    {
      version: 1,
      node,
      dataDir,
      logLevel: 'debug',
      http: { host: '127.0.0.1', port: 0 },
      api: { token: TEST_ADMIN_TOKEN },
      mqtt: { host: '127.0.0.1', port: 0 },
      cluster: { partitions: 16, leaseMs: 2_000, renewMs: 400 },
    },
    { HEZO_DATABASE_URL: databaseUrl },
  );
  const logger = pino(
    { level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    { write: (line: string) => logLines.push(line) },
  );
  const hub = createHub(config, { logger, modules: [] });
  cleanups.push(() => hub.stop());
  return hub;
}

async function startHub(node: string): Promise<RunningHub> {
  const hub = makeHub(node, url);
  const { httpUrl } = await hub.start();
  return {
    hub,
    httpUrl,
    get: (path) => fetch(`${httpUrl}${path}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } }),
  };
}

const healthOf = async (h: RunningHub) =>
  (await (await h.get('/healthz')).json()) as { status: string; node: string; partitions: number[] };

async function metric(h: RunningHub, name: string): Promise<number> {
  const text = await (await h.get('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

it('two hubs split the partitions, /healthz and /metrics say so, a stopping hub hands over; no password logged', async () => {
  const [a, b] = await Promise.all([startHub('hub-a'), startHub('hub-b')]);
  await waitFor(
    async () => {
      const [ha, hb] = await Promise.all([healthOf(a), healthOf(b)]);
      const all = [...ha.partitions, ...hb.partitions];
      return ha.partitions.length === 8 && hb.partitions.length === 8 && new Set(all).size === 16;
    },
    { what: 'an 8/8 split seen by /healthz', timeoutMs: 20_000 },
  );
  const ha = await healthOf(a);
  expect(ha).toMatchObject({ status: 'ok', node: 'hub-a' });
  expect(ha.partitions).toEqual([...ha.partitions].sort((x, y) => x - y));
  expect(await metric(a, 'hezo_cluster_partitions_held')).toBe(8);
  expect(await metric(b, 'hezo_cluster_partitions_held')).toBe(8);
  // as last read from the database: a heartbeat late on a loaded machine may show 1 for a moment
  await waitFor(async () => (await metric(b, 'hezo_cluster_live_nodes')) === 2, {
    what: 'hub-b to count 2 live nodes',
    timeoutMs: 10_000,
  });
  expect(await metric(a, 'hezo_cluster_lease_renew_failures_total')).toBeGreaterThanOrEqual(0);
  expect(await metric(a, 'hezo_cluster_takeovers_total')).toBe(0);

  await a.hub.stop();
  await waitFor(async () => (await healthOf(b)).partitions.length === 16, {
    what: 'hub-b to hold all 16',
    timeoutMs: 20_000,
  });
  // released on stop, so taken without waiting for the lease: not a takeover
  expect(await metric(b, 'hezo_cluster_takeovers_total')).toBe(0);
  expect(await metric(b, 'hezo_cluster_acquisitions_total')).toBeGreaterThanOrEqual(16);

  const logs = logLines.join('');
  expect(logs).toContain('cluster node started');
  expect(logs).toContain('cluster: partition acquired');
  expect(logs).not.toContain(PASSWORD);
});

it('an unreachable database stops the hub from starting, with the URL shown without its password', async () => {
  const closedPort = new URL(postgres.url).port === '1' ? 2 : 1;
  const hub = makeHub('hub-x', `postgres://hezo_cluster:${PASSWORD}@127.0.0.1:${closedPort}/hezo_cluster`);
  const failure = await hub.start().then(
    () => new Error('started'),
    (err: unknown) => err as Error,
  );
  expect(failure.message).toMatch(
    /^database: cannot use PostgreSQL at postgres:\/\/hezo_cluster:\*\*\*@127\.0\.0\.1:\d+\/hezo_cluster: .*ECONNREFUSED/,
  );
  expect(failure.message).not.toContain(PASSWORD);
  expect(logLines.join('')).not.toContain(PASSWORD);
});
