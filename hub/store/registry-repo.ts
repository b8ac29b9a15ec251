/**
 * The registry table family (devices, contracts, contract_devices, maintenance_windows) over SqlStore: the same
 * migration list and queries on SQLite and PostgreSQL. A sketch of how hub/registry/registry.ts would persist
 * through the store abstraction; the in-memory registry on top stays as it is.
 */
import { type MigrationStep, runMigrations } from './migrations.ts';
import type { SqlStore } from './sql-store.ts';

export const REGISTRY_MIGRATIONS: readonly MigrationStep[] = [
  `CREATE TABLE devices (
     serial TEXT PRIMARY KEY, model TEXT NOT NULL, site TEXT NOT NULL, customer TEXT NOT NULL, name TEXT,
     source TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
   CREATE TABLE contracts (
     number TEXT PRIMARY KEY, customer TEXT NOT NULL, start TEXT NOT NULL, term_years INTEGER NOT NULL,
     extension_years INTEGER NOT NULL, source TEXT NOT NULL, updated_at TEXT NOT NULL);
   CREATE TABLE contract_devices (
     number TEXT NOT NULL REFERENCES contracts(number) ON DELETE CASCADE, serial TEXT NOT NULL,
     PRIMARY KEY (number, serial));
   CREATE INDEX contract_devices_serial ON contract_devices(serial);`,
  {
    sqlite: `CREATE TABLE maintenance_windows (
       id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT, serial TEXT, from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL,
       reason TEXT NOT NULL, source TEXT NOT NULL, created_at TEXT NOT NULL)`,
    postgres: `CREATE TABLE maintenance_windows (
       id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, site TEXT, serial TEXT, from_ms BIGINT NOT NULL,
       to_ms BIGINT NOT NULL, reason TEXT NOT NULL, source TEXT NOT NULL, created_at TEXT NOT NULL)`,
  },
];

export interface DeviceRow {
  serial: string;
  model: string;
  site: string;
  customer: string;
  name: string | null;
  source: string;
}

export interface ContractRow {
  number: string;
  customer: string;
  start: string;
  termYears: number;
  extensionYears: number;
  serials: string[];
}

export interface WindowRow {
  id: number;
  site: string | null;
  serial: string | null;
  fromMs: number;
  toMs: number;
  reason: string;
}

export class RegistryRepo {
  private readonly store: SqlStore;

  constructor(store: SqlStore) {
    this.store = store;
  }

  migrate(): Promise<number[]> {
    return runMigrations(this.store, 'registry', REGISTRY_MIGRATIONS);
  }

  async upsertDevice(device: DeviceRow, at: string): Promise<void> {
    // ON CONFLICT ... DO UPDATE: the same statement in SQLite (3.24+) and PostgreSQL
    await this.store.run(
      `INSERT INTO devices (serial, model, site, customer, name, source, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
       ON CONFLICT (serial) DO UPDATE SET model = excluded.model, site = excluded.site, customer = excluded.customer,
         name = excluded.name, source = excluded.source, updated_at = excluded.updated_at`,
      [device.serial, device.model, device.site, device.customer, device.name, device.source, at],
    );
  }

  listDevices(): Promise<DeviceRow[]> {
    return this.store.query<DeviceRow & Record<string, unknown>>(
      'SELECT serial, model, site, customer, name, source FROM devices ORDER BY serial',
    );
  }

  /** The contract and its device list, replaced together (one transaction). */
  upsertContract(contract: ContractRow, source: string, at: string): Promise<void> {
    return this.store.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO contracts (number, customer, start, term_years, extension_years, source, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (number) DO UPDATE SET customer = excluded.customer, start = excluded.start,
           term_years = excluded.term_years, extension_years = excluded.extension_years, source = excluded.source,
           updated_at = excluded.updated_at`,
        [contract.number, contract.customer, contract.start, contract.termYears, contract.extensionYears, source, at],
      );
      await tx.run('DELETE FROM contract_devices WHERE number = $1', [contract.number]);
      for (const serial of contract.serials) {
        await tx.run('INSERT INTO contract_devices (number, serial) VALUES ($1, $2)', [contract.number, serial]);
      }
    });
  }

  async listContracts(): Promise<ContractRow[]> {
    const rows = await this.store.query<{
      number: string;
      customer: string;
      start: string;
      term_years: number;
      extension_years: number;
    }>('SELECT number, customer, start, term_years, extension_years FROM contracts ORDER BY number');
    const links = await this.store.query<{ number: string; serial: string }>(
      'SELECT number, serial FROM contract_devices ORDER BY number, serial',
    );
    return rows.map((r) => ({
      number: r.number,
      customer: r.customer,
      start: r.start,
      termYears: Number(r.term_years),
      extensionYears: Number(r.extension_years),
      serials: links.filter((l) => l.number === r.number).map((l) => l.serial),
    }));
  }

  async deleteContract(number: string): Promise<boolean> {
    return (await this.store.run('DELETE FROM contracts WHERE number = $1', [number])) > 0;
  }

  async addWindow(window: Omit<WindowRow, 'id'>, source: string, at: string): Promise<number> {
    const rows = await this.store.query<{ id: number | string }>(
      `INSERT INTO maintenance_windows (site, serial, from_ms, to_ms, reason, source, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [window.site, window.serial, window.fromMs, window.toMs, window.reason, source, at],
    );
    return Number(rows[0]?.id);
  }

  /** Windows covering `atMs` (BIGINT comes back from pg as a string: numbers are normalised here). */
  async windowsAt(atMs: number): Promise<WindowRow[]> {
    const rows = await this.store.query<{
      id: number | string;
      site: string | null;
      serial: string | null;
      from_ms: number | string;
      to_ms: number | string;
      reason: string;
    }>(
      'SELECT id, site, serial, from_ms, to_ms, reason FROM maintenance_windows WHERE from_ms <= $1 AND to_ms > $1 ORDER BY id',
      [atMs],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      site: r.site,
      serial: r.serial,
      fromMs: Number(r.from_ms),
      toMs: Number(r.to_ms),
      reason: r.reason,
    }));
  }
}
