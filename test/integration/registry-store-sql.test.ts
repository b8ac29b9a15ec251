/**
 * Issue 16: the device registry and the customers on the SqlStore, the same queries and ONE migration list on the
 * embedded SQLite file and on a real PostgreSQL 15. Writes reach the in-memory view and the database (a restart
 * loads them back); duplicates are DUPLICATE_KEY, a customer still named by a site or a user is IN_USE; a device
 * first seen in a health record is in the view at once and never written over a device stored meanwhile; the CSV
 * import is ONE transaction over the registry and the customers (a bad row, or a clash found only inside the
 * transaction, stores nothing); a SQLite file of an earlier hub is accepted as is.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../hub/db.ts';
import { CustomerDirectory } from '../../hub/registry/customers.ts';
import { CUSTOMER_MIGRATIONS } from '../../hub/registry/customers-repo.ts';
import { importCsv } from '../../hub/registry/import.ts';
import { Registry } from '../../hub/registry/registry.ts';
import { stepSql } from '../../hub/store/migrations.ts';
import { REGISTRY_MIGRATIONS } from '../../hub/store/registry-repo.ts';
import { SerialQueue } from '../../hub/store/serial-queue.ts';
import type { SqlStore } from '../../hub/store/sql-store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { ErrorCode } from '../../protocols/errors.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { makeHubConfig } from '../helpers/hub-fixture.ts';
import { useSqlStores } from '../helpers/sql-stores.ts';

const stores = useSqlStores();

const T0 = Date.parse('2026-11-30T06:00:00.000Z');
const config = makeHubConfig({
  customers: [{ id: 'acme', name: 'Acme' }],
  devices: [{ serial: 'CFG-1', model: 'StudioX50', site: 'site-a', customer: 'acme' }],
  contracts: [{ number: 'K-CFG', customer: 'acme', start: '2026-01-01', termYears: 3, serials: ['CFG-1'] }],
  maintenance: [{ site: 'site-a', from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z', reason: 'move' }],
});

async function open(sql: SqlStore, now = () => T0) {
  const writes = new SerialQueue((err) => {
    throw err;
  });
  const registry = new Registry(sql, config, now, { writes });
  const customers = new CustomerDirectory(sql, now, { writes });
  await registry.start();
  await customers.start(config);
  return { registry, customers };
}

const HEADER = 'customer,customer_name,contract,contract_start,term_years,extension_years,serial,model,site,name';

describe.each(['sqlite', 'postgres'] as const)('registry and customers on %s', (dialect) => {
  it('writes reach the view and the database; duplicates, references and IN_USE as before', async () => {
    const sql = await stores.make(dialect);
    const { registry, customers } = await open(sql);
    expect(registry.get('CFG-1')).toMatchObject({ source: 'config', customer: 'acme' });
    expect(registry.contractFor('CFG-1', T0)).toMatchObject({ number: 'K-CFG', isActive: true });
    expect(registry.isInMaintenance('CFG-1', 'site-a', Date.parse('2026-12-01T12:00:00Z'))).toBe(true);

    expect(await customers.add({ id: 'beta', name: 'Beta', contactEmail: 'ops@beta.example' })).toEqual({
      id: 'beta',
      name: 'Beta',
      contactEmail: 'ops@beta.example',
      source: 'api',
    });
    await expect(customers.add({ id: 'beta', name: 'Again' })).rejects.toMatchObject({
      code: ErrorCode.DUPLICATE_KEY,
    });
    expect(await customers.update('beta', { contactEmail: null })).toEqual({ id: 'beta', name: 'Beta', source: 'api' });
    await expect(customers.update('nobody', { name: 'x' })).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
    await customers.addSite({ id: 'site-b', customer: 'beta', name: 'B' });
    await expect(customers.addSite({ id: 'site-b', customer: 'beta' })).rejects.toMatchObject({
      code: ErrorCode.DUPLICATE_KEY,
    });
    await expect(customers.addSite({ id: 'site-x', customer: 'nobody' })).rejects.toMatchObject({
      code: ErrorCode.REFERENCE_INVALID,
    });
    await expect(customers.remove('beta', [])).rejects.toMatchObject({
      code: ErrorCode.IN_USE,
      message: expect.stringContaining('1 site(s)'),
    });
    // a user naming the customer (people store, same database) keeps it too
    await sql.exec('CREATE TABLE users (name TEXT PRIMARY KEY, customer TEXT)');
    await sql.run("INSERT INTO users (name, customer) VALUES ('carol', 'beta')");
    await customers.removeSite('site-b');
    await expect(customers.remove('beta', [])).rejects.toMatchObject({ message: expect.stringContaining('1 user(s)') });
    await sql.run("DELETE FROM users WHERE name = 'carol'");
    expect(await customers.remove('beta', [])).toMatchObject({ id: 'beta' });
    expect(customers.exists('beta')).toBe(false);

    const device = { serial: 'API-1', model: 'StudioX30' as const, site: 'site-a', customer: 'acme', name: 'Room 1' };
    expect(await registry.insertDevice(device)).toMatchObject({ ...device, source: 'api' });
    await expect(registry.insertDevice(device)).rejects.toMatchObject({ code: ErrorCode.DUPLICATE_KEY });
    expect(await registry.upsertDevice({ ...device, name: 'Room 2' }, 'api')).toMatchObject({ name: 'Room 2' });
    const contract = { number: 'K-2', customer: 'acme', start: '2026-06-01', termYears: 1, extensionYears: 0 };
    expect(await registry.insertContract({ ...contract, serials: ['API-1'] })).toMatchObject({
      end: '2027-05-31',
      serials: ['API-1'],
    });
    await expect(registry.insertContract({ ...contract, serials: [] })).rejects.toMatchObject({
      code: ErrorCode.DUPLICATE_KEY,
    });
    expect(await registry.endContract('K-2', '2026-12-31')).toMatchObject({ end: '2026-12-31' });
    await expect(registry.endContract('K-404', '2026-12-31')).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
    const window = await registry.addMaintenance({
      serial: 'API-1',
      from: '2026-11-30T05:00:00Z',
      to: '2026-11-30T08:00:00Z',
      reason: 'firmware',
    });
    expect(registry.isInMaintenance('API-1', 'site-a', T0)).toBe(true);
    const later = await registry.addMaintenance({
      site: 'site-a',
      from: '2027-01-01T00:00:00Z',
      to: '2027-01-02T00:00:00Z',
      reason: 'later',
    });
    expect(await registry.endMaintenance(later.id)).toBeUndefined(); // not started: deleted
    expect(await registry.endMaintenance(window.id)).toMatchObject({ to: new Date(T0).toISOString() });
    expect(registry.isInMaintenance('API-1', 'site-a', T0)).toBe(false);
    await expect(registry.endMaintenance(later.id)).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });

    // a restarted hub (a new view on the same database) loads what was written
    const again = await open(sql);
    expect(again.registry.list().map((d) => d.serial)).toEqual(['API-1', 'CFG-1']);
    expect(again.registry.get('API-1')).toMatchObject({ name: 'Room 2', source: 'api' });
    expect(again.registry.contract('K-2')).toMatchObject({ end: '2026-12-31', serials: ['API-1'] });
    expect(again.registry.listMaintenance().map((w) => [w.reason, w.to])).toEqual([
      ['firmware', new Date(T0).toISOString()],
      ['move', '2026-12-02T00:00:00.000Z'], // config windows are written again at every start
    ]);
    expect(again.customers.list().map((c) => c.id)).toEqual(['acme']);

    expect(await again.registry.removeDevice('API-1')).toMatchObject({ serial: 'API-1' });
    expect(again.registry.contract('K-2')?.serials).toEqual([]);
    await expect(again.registry.removeDevice('API-1')).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
  });

  it('a device first seen in a record is in the view at once and never written over one stored meanwhile', async () => {
    const sql = await stores.make(dialect);
    const { registry } = await open(sql);
    registry.ensureFromRecord(makeHealthRecord({ serial: 'AUTO-1', model: 'StudioE70' }));
    expect(registry.get('AUTO-1')).toMatchObject({ source: 'auto', model: 'StudioE70' }); // synchronously
    await registry.idle();
    const [stored] = await sql.query<{ source: string }>("SELECT source FROM devices WHERE serial = 'AUTO-1'");
    expect(stored?.source).toBe('auto');

    // another node registered AUTO-2 a moment ago; this view has not heard of it yet
    await sql.run(
      `INSERT INTO devices (serial, model, site, customer, name, source, created_at, updated_at)
       VALUES ('AUTO-2', 'StudioX70', 'site-z', 'acme', 'Boardroom', 'api', $1, $1)`,
      [new Date(T0).toISOString()],
    );
    registry.ensureFromRecord(makeHealthRecord({ serial: 'AUTO-2', model: 'StudioE70' }));
    await registry.idle();
    expect(registry.get('AUTO-2')).toMatchObject({ source: 'api', site: 'site-z', name: 'Boardroom' });
  });

  it('the CSV import is ONE transaction over registry and customers: a bad row or a late clash stores nothing', async () => {
    const sql = await stores.make(dialect);
    const { registry, customers } = await open(sql);
    const deps = { sql, registry, customers, now: () => T0 };
    const csv = (rows: string[]) => `${HEADER}\n${rows.join('\n')}\n`;
    const good = [
      'newco,New Co,K-NEW,2026-01-01,2,0,IMP-1,StudioX50,site-n,Room 1',
      'newco,,K-NEW,,,,IMP-2,StudioX50,site-n,Room 2',
    ];
    const count = async () =>
      Number((await sql.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM devices'))[0]?.n);
    const before = await count();

    await expect(importCsv(csv([...good, 'newco,,,,,,IMP-3,NoSuchModel,site-n,']), deps)).rejects.toMatchObject({
      code: ErrorCode.PAYLOAD_INVALID,
      message: expect.stringContaining('line 4: model'),
    });
    expect(await count()).toBe(before);

    // a customer another node stored after this view was loaded: the plan takes it for new, the insert clashes
    await sql.run(
      `INSERT INTO customers (id, name, contact_email, source, created_at, updated_at)
       VALUES ('newco', 'Elsewhere', NULL, 'api', $1, $1)`,
      [new Date(T0).toISOString()],
    );
    expect(customers.exists('newco')).toBe(false);
    await expect(importCsv(csv(good), deps)).rejects.toMatchObject({
      code: ErrorCode.PAYLOAD_INVALID,
      message: expect.stringContaining('customer "newco"'),
    });
    expect(await count()).toBe(before);
    expect(await sql.query("SELECT * FROM contracts WHERE number = 'K-NEW'")).toEqual([]);
    expect(customers.exists('newco')).toBe(true); // the view reloaded after the failed import
    expect(registry.get('IMP-1')).toBeUndefined();

    await sql.run("DELETE FROM customers WHERE id = 'newco'");
    await customers.reload();
    // a serial registered meanwhile: the customer inserted before it is rolled back too
    await sql.run(
      `INSERT INTO devices (serial, model, site, customer, name, source, created_at, updated_at)
       VALUES ('IMP-2', 'StudioX70', 'site-z', 'acme', NULL, 'api', 'x', 'x')`,
    );
    await expect(importCsv(csv(good), deps)).rejects.toMatchObject({ message: expect.stringContaining('"IMP-2"') });
    expect(await sql.query("SELECT id FROM customers WHERE id = 'newco'")).toEqual([]);
    expect(customers.exists('newco')).toBe(false);
    await sql.run("DELETE FROM devices WHERE serial = 'IMP-2'");
    await registry.reload();
    expect(await importCsv(csv(good), deps)).toEqual({ customers: 1, contracts: 1, devices: 2 });
    expect(registry.contract('K-NEW')).toMatchObject({ customer: 'newco', serials: ['IMP-1', 'IMP-2'] });
    expect(customers.get('newco')).toMatchObject({ name: 'New Co' });
    expect(await count()).toBe(before + 2);
  });
});

describe('a refused write on the shared SQLite connection', () => {
  it('commits (it changed nothing): a write another module made meanwhile on ctx.db is kept', async () => {
    const db = new Database(stores.sqliteFile());
    const sqlite = new SqliteStore(db);
    const { registry, customers } = await open(sqlite);
    db.exec('CREATE TABLE other_module (v TEXT)');
    // another module's synchronous write lands while the registry's transaction is open (between its statements)
    const interleaving: SqlStore = {
      dialect: 'sqlite',
      exec: (q) => sqlite.exec(q),
      query: (q, p) => sqlite.query(q, p),
      run: async (q, p) => {
        db.prepare("INSERT INTO other_module (v) VALUES ('kept')").run();
        return sqlite.run(q, p);
      },
      transaction: (fn) => sqlite.transaction(() => fn(interleaving)),
      close: () => sqlite.close(),
    };
    const onShared = new Registry(interleaving, config, () => T0);
    await onShared.start();
    db.exec('DELETE FROM other_module');
    await expect(
      onShared.insertDevice({ serial: 'CFG-1', model: 'StudioX50', site: 'site-a', customer: 'acme' }),
    ).rejects.toMatchObject({ code: ErrorCode.DUPLICATE_KEY });
    expect(db.prepare('SELECT v FROM other_module').all()).toEqual([{ v: 'kept' }]);
    expect(registry.get('CFG-1')).toBeDefined();
    expect(customers.exists('acme')).toBe(true);
    db.close();
  });
});

describe('a SQLite file of an earlier hub', () => {
  it('is accepted as is: the tables hub/db.ts made are versions 1..n of the one migration list', async () => {
    const file = stores.sqliteFile();
    const old = new Database(file);
    old.exec(`CREATE TABLE schema_migrations (
      module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (module, version))`);
    migrate(
      old,
      'registry',
      REGISTRY_MIGRATIONS.slice(0, 2).map((s) => stepSql(s, 'sqlite')), // the steps earlier hubs ran
    );
    migrate(
      old,
      'customers',
      CUSTOMER_MIGRATIONS.map((s) => stepSql(s, 'sqlite')),
    );
    old.exec(`INSERT INTO devices VALUES ('OLD-1', 'StudioX30', 'site-o', 'acme', NULL, 'api', 'x', 'x');
      INSERT INTO contracts VALUES ('K-OLD', 'acme', '2025-01-01', 1, 0, 'api', 'x', '2025-06-30');
      INSERT INTO contract_devices VALUES ('K-OLD', 'OLD-2');
      INSERT INTO contract_devices VALUES ('K-OLD', 'OLD-1');
      INSERT INTO customers VALUES ('oldco', 'Old Co', NULL, 'api', 'x', 'x');`);
    const { registry, customers } = await open(new SqliteStore(old));
    expect(registry.get('OLD-1')).toMatchObject({ site: 'site-o' });
    expect(registry.contract('K-OLD')).toMatchObject({ end: '2025-06-30', serials: ['OLD-2', 'OLD-1'] }); // as given
    expect(customers.list().map((c) => c.id)).toEqual(['acme', 'oldco']);
    const ledger = old.prepare('SELECT module, version FROM schema_migrations ORDER BY module, version').all();
    expect(ledger).toEqual([
      { module: 'customers', version: 1 },
      { module: 'registry', version: 1 },
      { module: 'registry', version: 2 },
      { module: 'registry', version: 3 }, // the one step added since
    ]);
    old.close();
  });
});
