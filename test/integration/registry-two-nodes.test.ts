/**
 * Issue 16: the registry and the customers live on every node. Two registries (two "nodes") on one real PostgreSQL
 * 15, each with its own change feed (LISTEN/NOTIFY): a customer, site, device, contract, maintenance window made or
 * changed on node A is in node B's in-memory view (what the hot path, the API and the access scope read) within a
 * second, and a removal too; a CSV import on A (one transaction) and `hezo import` run beside the running nodes are
 * seen by both. Two nodes starting at once with the same config (devices, contracts, customers, windows) do not
 * conflict: idempotent upserts, one set of config windows. After a node's feed connection is cut and made again, it
 * reloads both views in full (a change whose notice it missed is seen).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { CustomerDirectory } from '../../hub/registry/customers.ts';
import { importCsv } from '../../hub/registry/import.ts';
import { runImport } from '../../hub/registry/import-cli.ts';
import { Registry } from '../../hub/registry/registry.ts';
import { PgChangeFeed } from '../../hub/store/change-feed-pg.ts';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import { SerialQueue } from '../../hub/store/serial-queue.ts';
import { systemClock } from '../../protocols/clock.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { makeHubConfig, TEST_ADMIN_TOKEN } from '../helpers/hub-fixture.ts';
import { useSqlStores } from '../helpers/sql-stores.ts';
import { waitFor } from '../helpers/wait-for.ts';

const stores = useSqlStores();
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const T0 = Date.parse('2026-11-30T06:00:00.000Z');
const config = makeHubConfig({
  customers: [{ id: 'acme', name: 'Acme' }],
  devices: Array.from({ length: 20 }, (_, i) => ({
    serial: `CFG-${i}`,
    model: 'StudioX50',
    site: `site-${i % 4}`,
    customer: 'acme',
  })),
  contracts: [{ number: 'K-CFG', customer: 'acme', start: '2026-01-01', termYears: 3, serials: ['CFG-0', 'CFG-1'] }],
  maintenance: [
    { site: 'site-1', from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z', reason: 'move' },
    { serial: 'CFG-2', from: '2026-12-03T00:00:00Z', to: '2026-12-04T00:00:00Z', reason: 'fw' },
  ],
});

/** One hub node's registry side: its own pool, change feed, registry and customers on the shared database. */
async function startNode(url: string, name: string, nodeConfig = config) {
  const sql = new PostgresStore(url, { max: 4 });
  const feed = new PgChangeFeed({
    url,
    node: `${name}#${Math.random().toString(16).slice(2, 8)}`,
    sql,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    metrics: new MetricsRegistry(),
  });
  const errors: unknown[] = [];
  const writes = new SerialQueue((err) => errors.push(err));
  const registry = new Registry(sql, nodeConfig, () => T0, { feed, writes });
  const customers = new CustomerDirectory(sql, () => T0, { feed, writes });
  await feed.start();
  closers.push(async () => {
    await feed.close();
    await writes.idle();
    await sql.close();
  });
  return {
    sql,
    feed,
    registry,
    customers,
    errors,
    async start() {
      await registry.start();
      await customers.start(nodeConfig);
    },
  };
}

/** What another node sees: waited for on a short timer, failing after a second (the feed's promise). */
const seen = <T>(predicate: () => T, what: string) => waitFor(predicate, { timeoutMs: 1_000, what });

describe('the registry on two nodes sharing one PostgreSQL', () => {
  it('two nodes start at once with the same config without conflict; then every change on A is seen by B', async () => {
    const url = await stores.postgresUrl();
    const a = await startNode(url, 'hub-a');
    const b = await startNode(url, 'hub-b');
    await Promise.all([a.start(), b.start()]);
    for (const node of [a, b]) {
      expect(node.registry.list()).toHaveLength(20);
      expect(node.registry.contract('K-CFG')?.serials).toEqual(['CFG-0', 'CFG-1']);
      expect(node.customers.list().map((c) => c.id)).toEqual(['acme']);
    }
    // and restarts at once (the tables exist: the seeding transactions themselves overlap; without devices in the
    // config no row lock orders them, only the advisory lock)
    const windowsOnly = { ...config, devices: [], contracts: [], customers: [] };
    const more = await Promise.all([1, 2, 3, 4].map((i) => startNode(url, `hub-${i}`, windowsOnly)));
    await Promise.all(more.map((node) => node.start()));
    const windows = await a.sql.query<{ reason: string }>('SELECT reason FROM maintenance_windows ORDER BY reason');
    expect(windows.map((w) => w.reason)).toEqual(['fw', 'move']); // one set, not one per node
    // B's view follows A's seeding (B seeded first or second: either way it ends with the stored windows)
    await seen(
      () => b.registry.listMaintenance().length === 2 && a.registry.listMaintenance().length === 2,
      'both views with the two config windows',
    );

    await a.customers.add({ id: 'beta', name: 'Beta' });
    await seen(() => b.customers.exists('beta'), "A's customer on B");
    await a.customers.addSite({ id: 'site-b', customer: 'beta' });
    await seen(() => b.customers.sites().some((s) => s.id === 'site-b'), "A's site on B");

    await a.registry.insertDevice({ serial: 'NEW-1', model: 'StudioX30', site: 'site-b', customer: 'beta' });
    await seen(() => b.registry.get('NEW-1')?.customer === 'beta', "A's device on B (owner for the access scope)");
    await a.registry.insertContract({
      number: 'K-B',
      customer: 'beta',
      start: '2026-01-01',
      termYears: 1,
      extensionYears: 0,
      serials: ['NEW-1'],
    });
    await seen(() => b.registry.contractFor('NEW-1', T0)?.number === 'K-B', "A's contract on B's hot path");
    expect(b.registry.contract('K-B')).toMatchObject({ customer: 'beta', end: '2026-12-31' });
    await a.registry.endContract('K-B', '2026-10-31');
    await seen(() => b.registry.contractFor('NEW-1', T0)?.isActive === false, "A's ended contract on B");

    const window = await a.registry.addMaintenance({
      serial: 'NEW-1',
      from: '2026-11-30T05:00:00Z',
      to: '2026-11-30T07:00:00Z',
      reason: 'swap',
    });
    await seen(() => b.registry.isInMaintenance('NEW-1', 'site-b', T0), "A's window on B's hot path");
    await b.registry.endMaintenance(window.id); // and back: B ends it, A sees it ended
    await seen(() => !a.registry.isInMaintenance('NEW-1', 'site-b', T0), "B's ended window on A");

    // B's view is used for B's own checks: a duplicate made on A is refused on B
    await expect(
      b.registry.insertDevice({ serial: 'NEW-1', model: 'StudioX30', site: 'x', customer: 'beta' }),
    ).rejects.toMatchObject({ code: 'DUPLICATE_KEY' });
    // a device first seen on B's hot path is on A too
    b.registry.ensureFromRecord(makeHealthRecord({ serial: 'AUTO-B', model: 'StudioE70' }));
    await seen(() => a.registry.get('AUTO-B')?.source === 'auto', "B's auto device on A");

    await a.registry.removeDevice('NEW-1');
    await seen(() => b.registry.get('NEW-1') === undefined, "A's removal on B");
    expect(b.registry.contract('K-B')?.serials).toEqual([]);
    await a.customers.removeSite('site-b');
    await seen(() => b.customers.sites().length === 0, "A's site removal on B");
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it("after B's feed connection is cut and comes back, a registry change it was never told of is in its view", async () => {
    const url = await stores.postgresUrl();
    const b = await startNode(url, 'hub-b');
    await b.start();
    const killed = await b.sql.query<{ ok: boolean }>(
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name LIKE 'hezo-feed-hub-b%'",
    );
    expect(killed.length).toBeGreaterThan(0);
    // written without a notice (as one sent while B was away would be lost)
    await b.sql.run(
      `INSERT INTO devices (serial, model, site, customer, name, source, created_at, updated_at)
       VALUES ('QUIET-1', 'StudioX30', 'site-q', 'acme', NULL, 'api', 'x', 'x')`,
    );
    await b.sql.run(
      "INSERT INTO customers (id, name, contact_email, source, created_at, updated_at) VALUES ('quiet', 'Q', NULL, 'api', 'x', 'x')",
    );
    await waitFor(() => b.registry.get('QUIET-1') !== undefined && b.customers.exists('quiet'), {
      timeoutMs: 5_000,
      what: 'the full reload after the feed reconnected',
    });
  });

  it('an import on A (one transaction), and `hezo import` beside the running nodes, reach both views', async () => {
    const url = await stores.postgresUrl();
    const a = await startNode(url, 'hub-a');
    const b = await startNode(url, 'hub-b');
    await a.start();
    await b.start();
    const header = 'customer,customer_name,contract,contract_start,term_years,extension_years,serial,model,site,name';
    const rows = Array.from({ length: 50 }, (_, i) => `imp,Imported,K-IMP,2026-01-01,2,0,IMP-${i},StudioX50,site-i,`);
    expect(await importCsv(`${header}\n${rows.join('\n')}\n`, { ...a, now: () => T0 })).toEqual({
      customers: 1,
      contracts: 1,
      devices: 50,
    });
    await seen(() => b.registry.contract('K-IMP')?.serials.length === 50, "A's import on B");
    expect(b.customers.get('imp')).toMatchObject({ name: 'Imported' });
    expect(b.registry.get('IMP-49')).toMatchObject({ site: 'site-i', customer: 'imp' });

    const dir = mkdtempSync(join(tmpdir(), 'hezo-import-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const csvFile = join(dir, 'more.csv');
    writeFileSync(csvFile, `${header}\nimp,,K-IMP,,,,CLI-1,StudioX30,site-i,From the CLI\n`);
    const configFile = join(dir, 'hub.yaml'); // JSON is YAML
    writeFileSync(
      configFile,
      JSON.stringify({ version: 1, dataDir: dir, api: { token: TEST_ADMIN_TOKEN }, database: { url } }),
    );
    const out: string[] = [];
    expect(await runImport([csvFile, '--config', configFile], (l) => out.push(l))).toBe(0);
    expect(JSON.parse(out[0] ?? '{}')).toEqual({ customers: 0, contracts: 1, devices: 1 });
    for (const node of [a, b]) {
      await seen(() => node.registry.get('CLI-1')?.name === 'From the CLI', '`hezo import` on a running node');
      await seen(() => node.registry.contract('K-IMP')?.serials.includes('CLI-1'), 'the imported contract link');
    }
  });
});
