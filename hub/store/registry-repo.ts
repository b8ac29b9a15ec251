/**
 * The registry table family (devices, contracts, contract_devices, maintenance_windows) over SqlStore: ONE migration
 * list and the same queries on SQLite and PostgreSQL. Versions 1..2 are what hub/db.ts `migrate()` created in
 * earlier hubs (an existing SQLite file is taken as it is). A repo over a transaction (`new RegistryRepo(tx)`) writes
 * inside it. Numbers are normalised here (pg returns BIGINT and COUNT as strings).
 */
import { type MigrationStep, runMigrations } from './migrations.ts';
import type { SqlStore } from './sql-store.ts';

/** Version 1: the same tables on both dialects but the maintenance window's id and millisecond columns. */
function registryV1(dialect: 'sqlite' | 'postgres'): string {
  const windowColumns =
    dialect === 'sqlite'
      ? 'id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT, serial TEXT, from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL,'
      : 'id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, site TEXT, serial TEXT, from_ms BIGINT NOT NULL,\n       to_ms BIGINT NOT NULL,';
  return `CREATE TABLE devices (
       serial TEXT PRIMARY KEY, model TEXT NOT NULL, site TEXT NOT NULL, customer TEXT NOT NULL, name TEXT,
       source TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
     CREATE TABLE contracts (
       number TEXT PRIMARY KEY, customer TEXT NOT NULL, start TEXT NOT NULL, term_years INTEGER NOT NULL,
       extension_years INTEGER NOT NULL, source TEXT NOT NULL, updated_at TEXT NOT NULL);
     CREATE TABLE contract_devices (
       number TEXT NOT NULL REFERENCES contracts(number) ON DELETE CASCADE, serial TEXT NOT NULL,
       PRIMARY KEY (number, serial));
     CREATE INDEX contract_devices_serial ON contract_devices(serial);
     CREATE TABLE maintenance_windows (
       ${windowColumns} reason TEXT NOT NULL, source TEXT NOT NULL, created_at TEXT NOT NULL);`;
}

export const REGISTRY_MIGRATIONS: readonly MigrationStep[] = [
  { sqlite: registryV1('sqlite'), postgres: registryV1('postgres') },
  'ALTER TABLE contracts ADD COLUMN ended_on TEXT;',
  // a contract's devices keep the order they were given in (reports list rooms so); earlier SQLite rows: their rowid
  {
    sqlite: 'ALTER TABLE contract_devices ADD COLUMN position INTEGER; UPDATE contract_devices SET position = rowid;',
    postgres: 'ALTER TABLE contract_devices ADD COLUMN position INTEGER;',
  },
];

export interface DeviceRow {
  serial: string;
  model: string;
  site: string;
  customer: string;
  name: string | null;
  source: string;
  createdAt: string;
}

export interface ContractRow {
  number: string;
  customer: string;
  start: string;
  termYears: number;
  extensionYears: number;
  serials: string[];
  endedOn: string | null;
}

export interface WindowRow {
  id: number;
  site: string | null;
  serial: string | null;
  fromMs: number;
  toMs: number;
  reason: string;
  source: string;
}

interface DeviceDbRow extends Record<string, unknown> {
  serial: string;
  model: string;
  site: string;
  customer: string;
  name: string | null;
  source: string;
  created_at: string;
}
interface ContractDbRow extends Record<string, unknown> {
  number: string;
  customer: string;
  start: string;
  term_years: number | string;
  extension_years: number | string;
  ended_on: string | null;
}
interface WindowDbRow extends Record<string, unknown> {
  id: number | string;
  site: string | null;
  serial: string | null;
  from_ms: number | string;
  to_ms: number | string;
  reason: string;
  source: string;
}

const toDevice = (r: DeviceDbRow): DeviceRow => ({
  serial: r.serial,
  model: r.model,
  site: r.site,
  customer: r.customer,
  name: r.name,
  source: r.source,
  createdAt: r.created_at,
});
const toContract = (r: ContractDbRow, serials: string[]): ContractRow => ({
  number: r.number,
  customer: r.customer,
  start: r.start,
  termYears: Number(r.term_years),
  extensionYears: Number(r.extension_years),
  serials,
  endedOn: r.ended_on,
});
const toWindow = (r: WindowDbRow): WindowRow => ({
  id: Number(r.id),
  site: r.site,
  serial: r.serial,
  fromMs: Number(r.from_ms),
  toMs: Number(r.to_ms),
  reason: r.reason,
  source: r.source,
});

/** Rows per multi-row statement (7 parameters a device: far below either database's parameter limit). */
const BATCH_ROWS = 200;
const DEVICE_COLUMNS = 'serial, model, site, customer, name, source, created_at';
const CONTRACT_COLUMNS = 'number, customer, start, term_years, extension_years, ended_on';

export type NewDevice = Omit<DeviceRow, 'createdAt'>;
export type NewContract = Omit<ContractRow, 'endedOn'>;

export class RegistryRepo {
  private readonly store: SqlStore;

  /** `store`: the SqlStore, or a transaction of it (the writes then belong to that transaction). */
  constructor(store: SqlStore) {
    this.store = store;
  }

  migrate(): Promise<number[]> {
    return runMigrations(this.store, 'registry', REGISTRY_MIGRATIONS);
  }

  /** Insert or replace (config entries, edits). ON CONFLICT ... DO UPDATE: the same statement on both dialects. */
  async upsertDevice(device: NewDevice, at: string): Promise<void> {
    await this.store.run(
      `INSERT INTO devices (serial, model, site, customer, name, source, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
       ON CONFLICT (serial) DO UPDATE SET model = excluded.model, site = excluded.site, customer = excluded.customer,
         name = excluded.name, source = excluded.source, updated_at = excluded.updated_at`,
      [device.serial, device.model, device.site, device.customer, device.name, device.source, at],
    );
  }

  /** Create only: false when the serial is stored already (nothing changed). */
  async insertDevice(device: NewDevice, at: string): Promise<boolean> {
    const changed = await this.store.run(
      `INSERT INTO devices (serial, model, site, customer, name, source, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (serial) DO NOTHING`,
      [device.serial, device.model, device.site, device.customer, device.name, device.source, at],
    );
    return changed > 0;
  }

  /** Create only, many at once (multi-row statements): the serials that were stored already (not changed). */
  async insertDevices(devices: readonly NewDevice[], at: string): Promise<string[]> {
    const existing: string[] = [];
    for (let from = 0; from < devices.length; from += BATCH_ROWS) {
      const batch = devices.slice(from, from + BATCH_ROWS);
      const params = batch.flatMap((d) => [d.serial, d.model, d.site, d.customer, d.name, d.source, at]);
      const values = batch.map((_d, i) => `(${[1, 2, 3, 4, 5, 6, 7, 7].map((n) => `$${i * 7 + n}`).join(', ')})`);
      const inserted = await this.store.query<{ serial: string }>(
        `INSERT INTO devices (serial, model, site, customer, name, source, created_at, updated_at)
         VALUES ${values.join(', ')} ON CONFLICT (serial) DO NOTHING RETURNING serial`,
        params,
      );
      const done = new Set(inserted.map((r) => r.serial));
      existing.push(...batch.filter((d) => !done.has(d.serial)).map((d) => d.serial));
    }
    return existing;
  }

  /** The device and its contract links; false when it was not stored. */
  async deleteDevice(serial: string): Promise<boolean> {
    await this.store.run('DELETE FROM contract_devices WHERE serial = $1', [serial]);
    return (await this.store.run('DELETE FROM devices WHERE serial = $1', [serial])) > 0;
  }

  async device(serial: string): Promise<DeviceRow | undefined> {
    const [row] = await this.store.query<DeviceDbRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE serial = $1`, [
      serial,
    ]);
    return row === undefined ? undefined : toDevice(row);
  }

  async listDevices(): Promise<DeviceRow[]> {
    const rows = await this.store.query<DeviceDbRow>(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY serial`);
    return rows.map(toDevice);
  }

  /** The numbers of the contracts that list `serial`. */
  async contractsOf(serial: string): Promise<string[]> {
    const rows = await this.store.query<{ number: string }>(
      'SELECT number FROM contract_devices WHERE serial = $1 ORDER BY number',
      [serial],
    );
    return rows.map((r) => r.number);
  }

  /**
   * The contract and its device list, replaced together (in the caller's transaction when it has one, else its
   * own). `create`: insert only, false when the number is stored already (nothing changed).
   */
  upsertContract(contract: NewContract, source: string, at: string, create = false): Promise<boolean> {
    return this.store.transaction(async (tx) => {
      const changed = await tx.run(
        `INSERT INTO contracts (number, customer, start, term_years, extension_years, source, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (number) DO ${
           create
             ? 'NOTHING'
             : `UPDATE SET customer = excluded.customer, start = excluded.start,
           term_years = excluded.term_years, extension_years = excluded.extension_years, source = excluded.source,
           updated_at = excluded.updated_at`
         }`,
        [contract.number, contract.customer, contract.start, contract.termYears, contract.extensionYears, source, at],
      );
      if (changed === 0) return false;
      await tx.run('DELETE FROM contract_devices WHERE number = $1', [contract.number]);
      // DO NOTHING: a serial listed twice, or another node writing the same contract at once, is no error
      for (let from = 0; from < contract.serials.length; from += BATCH_ROWS) {
        const batch = contract.serials.slice(from, from + BATCH_ROWS);
        await tx.run(
          `INSERT INTO contract_devices (number, serial, position)
           VALUES ${batch.map((_s, i) => `($1, $${2 * i + 2}, $${2 * i + 3})`).join(', ')} ON CONFLICT DO NOTHING`,
          [contract.number, ...batch.flatMap((serial, i) => [serial, from + i])],
        );
      }
      return true;
    });
  }

  /** false when the contract is not stored. */
  async endContract(number: string, lastDay: string, at: string): Promise<boolean> {
    const changed = await this.store.run('UPDATE contracts SET ended_on = $1, updated_at = $2 WHERE number = $3', [
      lastDay,
      at,
      number,
    ]);
    return changed > 0;
  }

  async deleteContract(number: string): Promise<boolean> {
    return (await this.store.run('DELETE FROM contracts WHERE number = $1', [number])) > 0;
  }

  async contract(number: string): Promise<ContractRow | undefined> {
    const [row] = await this.store.query<ContractDbRow>(`SELECT ${CONTRACT_COLUMNS} FROM contracts WHERE number = $1`, [
      number,
    ]);
    if (row === undefined) return undefined;
    const links = await this.store.query<{ serial: string }>(
      'SELECT serial FROM contract_devices WHERE number = $1 ORDER BY position, serial',
      [number],
    );
    return toContract(
      row,
      links.map((l) => l.serial),
    );
  }

  async listContracts(): Promise<ContractRow[]> {
    const rows = await this.store.query<ContractDbRow>(`SELECT ${CONTRACT_COLUMNS} FROM contracts ORDER BY number`);
    const links = await this.store.query<{ number: string; serial: string }>(
      'SELECT number, serial FROM contract_devices ORDER BY number, position, serial',
    );
    const byNumber = new Map<string, string[]>();
    for (const l of links) byNumber.set(l.number, [...(byNumber.get(l.number) ?? []), l.serial]);
    return rows.map((r) => toContract(r, byNumber.get(r.number) ?? []));
  }

  async addWindow(window: Omit<WindowRow, 'id' | 'source'>, source: string, at: string): Promise<number> {
    const rows = await this.store.query<{ id: number | string }>(
      `INSERT INTO maintenance_windows (site, serial, from_ms, to_ms, reason, source, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [window.site, window.serial, window.fromMs, window.toMs, window.reason, source, at],
    );
    return Number(rows[0]?.id);
  }

  async deleteWindows(source: string): Promise<void> {
    await this.store.run('DELETE FROM maintenance_windows WHERE source = $1', [source]);
  }

  /** A window not started yet is deleted; one running ends now (an ended one stays as it is). */
  async endWindow(id: number, nowMs: number): Promise<'deleted' | 'ended' | 'missing'> {
    const deleted = await this.store.run('DELETE FROM maintenance_windows WHERE id = $1 AND from_ms >= $2', [
      id,
      nowMs,
    ]);
    if (deleted > 0) return 'deleted';
    await this.store.run('UPDATE maintenance_windows SET to_ms = $1 WHERE id = $2 AND to_ms > $1', [nowMs, id]);
    const [row] = await this.store.query<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM maintenance_windows WHERE id = $1',
      [id],
    );
    return Number(row?.n ?? 0) > 0 ? 'ended' : 'missing';
  }

  async listWindows(): Promise<WindowRow[]> {
    const rows = await this.store.query<WindowDbRow>(
      'SELECT id, site, serial, from_ms, to_ms, reason, source FROM maintenance_windows ORDER BY id',
    );
    return rows.map(toWindow);
  }

  /** Windows covering `atMs`. */
  async windowsAt(atMs: number): Promise<WindowRow[]> {
    const rows = await this.store.query<WindowDbRow>(
      `SELECT id, site, serial, from_ms, to_ms, reason, source FROM maintenance_windows
       WHERE from_ms <= $1 AND to_ms > $1 ORDER BY id`,
      [atMs],
    );
    return rows.map(toWindow);
  }
}

/** PostgreSQL: serialise writers of `name` across hub nodes until the transaction ends (SQLite: one writer anyway). */
export async function lockForTransaction(tx: SqlStore, name: string): Promise<void> {
  if (tx.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
}
