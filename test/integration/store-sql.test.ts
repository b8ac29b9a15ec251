/**
 * Issue 16 (store sketch): ONE migration list and the same repository queries for the registry table family, run
 * on SQLite and on a real PostgreSQL 15 started by the test. Same results on both; migrations apply once (also when
 * two stores start together on PostgreSQL); a failing step rolls back and leaves no ledger row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../hub/store/migrations.ts';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import { REGISTRY_MIGRATIONS, RegistryRepo } from '../../hub/store/registry-repo.ts';
import type { SqlStore } from '../../hub/store/sql-store.ts';
import type { Postgres } from '../helpers/postgres.ts';
import { type SqlStores, startSqlStores } from '../helpers/sql-stores.ts';

let stores: SqlStores;
let postgres: Postgres;
beforeAll(async () => {
  stores = await startSqlStores();
  postgres = stores.postgres;
});
afterAll(async () => {
  await stores?.close();
});

/** A fresh, empty store of each kind (PostgreSQL: a schema of its own per test). */
const makers: Record<'sqlite' | 'postgres', () => Promise<SqlStore>> = {
  sqlite: () => stores.make('sqlite'),
  postgres: () => stores.make('postgres'),
};

const AT = '2026-11-30T04:00:00.000Z';

describe.each(['sqlite', 'postgres'] as const)('registry store on %s', (dialect) => {
  it('one migration list creates the tables once; the same queries give the same answers', async () => {
    const store = await makers[dialect]();
    try {
      const repo = new RegistryRepo(store);
      expect(await repo.migrate()).toEqual([1, 2, 3]);
      expect(await repo.migrate()).toEqual([]);
      await repo.upsertDevice(
        { serial: 'SN-2', model: 'StudioX50', site: 's1', customer: 'c1', name: null, source: 'config' },
        AT,
      );
      expect(
        await repo.insertDevice(
          { serial: 'SN-2', model: 'StudioX50', site: 's9', customer: 'c9', name: null, source: 'api' },
          AT,
        ),
      ).toBe(false);
      await repo.upsertDevice(
        { serial: 'SN-1', model: 'StudioX30', site: 's1', customer: 'c1', name: 'Room 1', source: 'api' },
        AT,
      );
      await repo.upsertDevice(
        { serial: 'SN-2', model: 'StudioX70', site: 's2', customer: 'c1', name: null, source: 'api' },
        AT,
      );
      expect(await repo.listDevices()).toEqual([
        {
          serial: 'SN-1',
          model: 'StudioX30',
          site: 's1',
          customer: 'c1',
          name: 'Room 1',
          source: 'api',
          createdAt: AT,
        },
        { serial: 'SN-2', model: 'StudioX70', site: 's2', customer: 'c1', name: null, source: 'api', createdAt: AT },
      ]);
      const contract = {
        number: 'K-1',
        customer: 'c1',
        start: '2026-01-01',
        termYears: 3,
        extensionYears: 0,
        serials: ['SN-1', 'SN-2'],
      };
      expect(await repo.upsertContract(contract, 'config', AT)).toBe(true);
      expect(await repo.upsertContract({ ...contract, customer: 'c9' }, 'api', AT, true)).toBe(false); // create only
      await repo.upsertContract({ ...contract, extensionYears: 1, serials: ['SN-2'] }, 'api', AT);
      expect(await repo.endContract('K-1', '2027-06-30', AT)).toBe(true);
      const stored = { ...contract, extensionYears: 1, serials: ['SN-2'], endedOn: '2027-06-30' };
      expect(await repo.listContracts()).toEqual([stored]);
      expect(await repo.contract('K-1')).toEqual(stored);
      expect(await repo.contractsOf('SN-2')).toEqual(['K-1']);
      // contract_devices cascade with their contract (foreign key on both)
      expect(await repo.deleteContract('K-1')).toBe(true);
      expect(await store.query('SELECT * FROM contract_devices')).toEqual([]);

      // many at once, over several multi-row statements: the ones stored already are named and left as they are
      const many = Array.from({ length: 450 }, (_, i) => ({
        serial: `M-${String(i).padStart(3, '0')}`,
        model: 'StudioX50',
        site: 's3',
        customer: 'c1',
        name: null,
        source: 'api',
      }));
      await repo.upsertDevice({ ...many[7]!, site: 'kept' }, AT);
      await repo.upsertDevice({ ...many[333]!, site: 'kept' }, AT);
      expect(await repo.insertDevices(many, AT)).toEqual(['M-007', 'M-333']);
      const devicesNow = await repo.listDevices();
      expect(devicesNow.filter((d) => d.serial.startsWith('M-'))).toHaveLength(450);
      expect(devicesNow.filter((d) => d.site === 'kept').map((d) => d.serial)).toEqual(['M-007', 'M-333']);
      await repo.upsertContract({ ...contract, number: 'K-M', serials: many.map((d) => d.serial) }, 'api', AT);
      expect((await repo.contract('K-M'))?.serials).toHaveLength(450);
      // the devices keep the order they were given in (not sorted)
      await repo.upsertContract({ ...contract, number: 'K-O', serials: ['SN-2', 'M-001', 'SN-1'] }, 'api', AT);
      expect((await repo.contract('K-O'))?.serials).toEqual(['SN-2', 'M-001', 'SN-1']);
      expect((await repo.listContracts()).find((c) => c.number === 'K-O')?.serials).toEqual(['SN-2', 'M-001', 'SN-1']);

      const big = Date.parse('2026-12-24T00:00:00Z');
      const id1 = await repo.addWindow(
        { site: 's1', serial: null, fromMs: big, toMs: big + 3_600_000, reason: 'x' },
        'api',
        AT,
      );
      const id2 = await repo.addWindow(
        { site: null, serial: 'SN-1', fromMs: big + 1000, toMs: big + 2000, reason: 'y' },
        'api',
        AT,
      );
      expect(id2).toBeGreaterThan(id1);
      expect((await repo.windowsAt(big + 1500)).map((w) => [w.id, w.fromMs, w.reason])).toEqual([
        [id1, big, 'x'],
        [id2, big + 1000, 'y'],
      ]);
    } finally {
      await store.close();
    }
  });

  it('a failing step rolls back with its ledger row; the earlier steps stay', async () => {
    const store = await makers[dialect]();
    try {
      await expect(
        runMigrations(store, 'broken', [
          'CREATE TABLE ok_table (a TEXT)',
          'CREATE TABLE bad_table (a TEXT); SELECT * FROM nowhere',
        ]),
      ).rejects.toThrow(/nowhere/);
      const ledger = await store.query<{ version: number | string }>(
        "SELECT version FROM schema_migrations WHERE module = 'broken'",
      );
      expect(ledger.map((r) => Number(r.version))).toEqual([1]);
      const tables = await store.query<{ n: number | string }>(
        dialect === 'sqlite'
          ? "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'bad_table'"
          : "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = 'bad_table' AND table_schema = current_schema()",
      );
      expect(Number(tables[0]?.n)).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe('postgres: two hub nodes migrating at once', () => {
  it('the ledger and each step are created exactly once (advisory locks)', async () => {
    const schema = `race${Date.now().toString(36)}`;
    const setup = new PostgresStore(postgres.url, { max: 1 });
    await setup.exec(`CREATE SCHEMA ${schema}`);
    await setup.close();
    const url = `${postgres.url}?options=-c%20search_path%3D${schema}`;
    const a = new PostgresStore(url);
    const b = new PostgresStore(url);
    try {
      const [fromA, fromB] = await Promise.all([
        runMigrations(a, 'registry', REGISTRY_MIGRATIONS),
        runMigrations(b, 'registry', REGISTRY_MIGRATIONS),
      ]);
      expect([...fromA, ...fromB].sort()).toEqual([1, 2, 3]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
