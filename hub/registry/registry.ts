/**
 * The device registry (SLA-2): serial -> model, site, customer, contracts; plus maintenance windows.
 * Seeded from the config at every start (config entries win), editable through the API, auto-filled from
 * health records of devices nobody registered (`source: auto`, no contract). Reads are served from memory.
 */

import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { DeviceModel, HealthRecord } from '../../protocols/health.ts';
import type { ContractConfig, DeviceConfig, HubConfig, MaintenanceWindow } from '../config.ts';
import type { ContractInfo, DeviceRegistry, RegisteredDevice } from '../context.ts';
import { type Db, migrate } from '../db.ts';
import { contractEnd, isActiveOn, localDate } from './contract-dates.ts';

export type DeviceSource = 'config' | 'api' | 'auto';

export interface RegistryDevice extends RegisteredDevice {
  source: DeviceSource;
  createdAt: string;
}

export interface ContractRecord {
  number: string;
  customer: string;
  start: string;
  termYears: number;
  extensionYears: number;
  serials: string[];
  /** Set when the contract was ended early (last covered local date). */
  endedOn?: string;
}

export interface StoredMaintenanceWindow {
  id: number;
  site: string | null;
  serial: string | null;
  from: string;
  to: string;
  reason: string;
  source: 'config' | 'api';
}

const MIGRATIONS = [
  `CREATE TABLE devices (
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
     id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT, serial TEXT, from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL,
     reason TEXT NOT NULL, source TEXT NOT NULL, created_at TEXT NOT NULL);`,
  'ALTER TABLE contracts ADD COLUMN ended_on TEXT;',
];

interface WindowMs {
  id: number;
  site: string | null;
  serial: string | null;
  fromMs: number;
  toMs: number;
  reason: string;
  source: 'config' | 'api';
}

export class Registry implements DeviceRegistry {
  private readonly db: Db;
  private readonly config: Readonly<HubConfig>;
  private readonly now: () => number;
  private readonly devices = new Map<string, RegistryDevice>();
  private readonly contracts = new Map<string, ContractRecord>();
  private readonly contractsBySerial = new Map<string, string[]>();
  private windows: WindowMs[] = [];
  /** contractFor results per serial for one local date (hot path: every health record builds a view). */
  private readonly contractCache = new Map<string, { today: string; info: ContractInfo | undefined }>();
  private todayMinute = Number.NaN;
  private todayDate = '';

  constructor(db: Db, config: Readonly<HubConfig>, now: () => number) {
    this.db = db;
    this.config = config;
    this.now = now;
  }

  /** Create tables, apply the config (devices, contracts, maintenance), load everything into memory. */
  start(): void {
    migrate(this.db, 'registry', MIGRATIONS);
    const at = new Date(this.now()).toISOString();
    this.db.transaction(() => {
      for (const device of this.config.devices) this.writeDevice(device, 'config', at);
      for (const contract of this.config.contracts) this.writeContract(contract, 'config', at);
      this.db.prepare(`DELETE FROM maintenance_windows WHERE source = 'config'`).run();
      for (const window of this.config.maintenance) this.writeWindow(window, 'config', at);
    })();
    this.load();
  }

  get(serial: string): RegistryDevice | undefined {
    return this.devices.get(serial);
  }

  list(): RegistryDevice[] {
    return [...this.devices.values()];
  }

  /**
   * Cached per serial and local date: the answer depends on `atMs` only through the local date, and the cache is
   * dropped whenever the contracts change.
   */
  contractFor(serial: string, atMs: number): ContractInfo | undefined {
    const today = this.localToday(atMs);
    const cached = this.contractCache.get(serial);
    if (cached !== undefined && cached.today === today) return cached.info;
    const info = this.computeContractFor(serial, atMs);
    this.contractCache.set(serial, { today, info });
    return info;
  }

  private computeContractFor(serial: string, atMs: number): ContractInfo | undefined {
    const numbers = this.contractsBySerial.get(serial);
    if (numbers === undefined || numbers.length === 0) return undefined;
    const infos = numbers.map((n) => this.info(this.contracts.get(n)!, atMs));
    // The active one with the latest end; else the newest.
    const active = infos.filter((c) => c.isActive).sort((a, b) => b.end.localeCompare(a.end))[0];
    return active ?? infos.sort((a, b) => b.start.localeCompare(a.start))[0];
  }

  contract(number: string): (ContractInfo & { serials: string[] }) | undefined {
    const record = this.contracts.get(number);
    return record === undefined ? undefined : { ...this.info(record, this.now()), serials: [...record.serials] };
  }

  listContracts(atMs: number): Array<ContractInfo & { serials: string[]; termYears: number; extensionYears: number }> {
    return [...this.contracts.values()].map((c) => ({
      ...this.info(c, atMs),
      serials: [...c.serials],
      termYears: c.termYears,
      extensionYears: c.extensionYears,
    }));
  }

  isInMaintenance(serial: string, site: string, atMs: number): boolean {
    for (const w of this.windows) {
      if (atMs >= w.fromMs && atMs < w.toMs && (w.serial === serial || (w.serial === null && w.site === site)))
        return true;
    }
    return false;
  }

  listMaintenance(): StoredMaintenanceWindow[] {
    return this.windows.map((w) => ({
      id: w.id,
      site: w.site,
      serial: w.serial,
      from: new Date(w.fromMs).toISOString(),
      to: new Date(w.toMs).toISOString(),
      reason: w.reason,
      source: w.source,
    }));
  }

  /** Register (or edit) a device. */
  upsertDevice(device: DeviceConfig, source: DeviceSource): RegistryDevice {
    const at = new Date(this.now()).toISOString();
    this.writeDevice(device, source, at);
    const stored = this.readDevice(device.serial)!;
    this.devices.set(stored.serial, stored);
    return stored;
  }

  /** A device first seen in a health record: registered from the record, without a contract. Hot path: a map lookup. */
  ensureFromRecord(record: HealthRecord): void {
    if (this.devices.has(record.identity.serial)) return;
    this.upsertDevice(
      { serial: record.identity.serial, model: record.identity.model, site: record.site, customer: record.customer },
      'auto',
    );
  }

  upsertContract(contract: ContractConfig): ContractInfo & { serials: string[] } {
    const at = new Date(this.now()).toISOString();
    this.db.transaction(() => this.writeContract(contract, 'api', at))();
    this.loadContracts();
    return this.contract(contract.number)!;
  }

  /** Create only: DUPLICATE_KEY when the number exists (never a silent replace). */
  insertContract(contract: ContractConfig): ContractInfo & { serials: string[] } {
    if (this.contracts.has(contract.number))
      throw new AppError(ErrorCode.DUPLICATE_KEY, `contract "${contract.number}" already exists`);
    return this.upsertContract(contract);
  }

  /** End a contract early: it covers its devices up to and including `lastDay` (local date). */
  endContract(number: string, lastDay: string): ContractInfo & { serials: string[] } {
    if (!this.contracts.has(number)) throw new AppError(ErrorCode.NOT_FOUND, `contract "${number}" not found`);
    this.db
      .prepare('UPDATE contracts SET ended_on = ?, updated_at = ? WHERE number = ?')
      .run(lastDay, new Date(this.now()).toISOString(), number);
    this.loadContracts();
    return this.contract(number)!;
  }

  removeDevice(serial: string): RegistryDevice {
    const device = this.devices.get(serial);
    if (device === undefined) throw new AppError(ErrorCode.NOT_FOUND, `device "${serial}" not found`);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM contract_devices WHERE serial = ?').run(serial);
      this.db.prepare('DELETE FROM devices WHERE serial = ?').run(serial);
    })();
    this.devices.delete(serial);
    this.loadContracts();
    return device;
  }

  /** End a maintenance window now (or delete one that has not started). */
  endMaintenance(id: number): StoredMaintenanceWindow | undefined {
    const window = this.windows.find((w) => w.id === id);
    if (window === undefined) throw new AppError(ErrorCode.NOT_FOUND, `maintenance window ${id} not found`);
    const now = this.now();
    if (window.fromMs >= now) this.db.prepare('DELETE FROM maintenance_windows WHERE id = ?').run(id);
    else this.db.prepare('UPDATE maintenance_windows SET to_ms = ? WHERE id = ? AND to_ms > ?').run(now, id, now);
    this.loadWindows();
    return this.listMaintenance().find((w) => w.id === id);
  }

  /** Re-read everything from SQLite (after a bulk import in one transaction). */
  reload(): void {
    this.load();
  }

  addMaintenance(window: MaintenanceWindow): StoredMaintenanceWindow {
    const id = this.writeWindow(window, 'api', new Date(this.now()).toISOString());
    this.loadWindows();
    return this.listMaintenance().find((w) => w.id === id)!;
  }

  /**
   * The local date of `atMs`, memoised per minute: every time zone's offset is a whole number of minutes (in
   * practice quarter hours), so the local date never changes inside one UTC minute.
   */
  private localToday(atMs: number): string {
    const minute = Math.floor(atMs / 60_000);
    if (minute !== this.todayMinute) {
      this.todayMinute = minute;
      this.todayDate = localDate(atMs, this.config.calendar.timeZone);
    }
    return this.todayDate;
  }

  private info(c: ContractRecord, atMs: number): ContractInfo {
    const fullEnd = contractEnd(c.start, c.termYears, c.extensionYears);
    const end = c.endedOn !== undefined && c.endedOn < fullEnd ? c.endedOn : fullEnd;
    const today = this.localToday(atMs);
    return { number: c.number, customer: c.customer, start: c.start, end, isActive: isActiveOn(today, c.start, end) };
  }

  private writeDevice(device: DeviceConfig, source: DeviceSource, at: string): void {
    this.db
      .prepare(
        `INSERT INTO devices (serial, model, site, customer, name, source, created_at, updated_at)
         VALUES (@serial, @model, @site, @customer, @name, @source, @at, @at)
         ON CONFLICT(serial) DO UPDATE SET model = excluded.model, site = excluded.site, customer = excluded.customer,
           name = excluded.name, source = excluded.source, updated_at = excluded.updated_at`,
      )
      .run({ ...device, name: device.name ?? null, source, at });
  }

  private writeContract(contract: ContractConfig, source: 'config' | 'api', at: string): void {
    this.db
      .prepare(
        `INSERT INTO contracts (number, customer, start, term_years, extension_years, source, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(number) DO UPDATE SET customer = excluded.customer, start = excluded.start,
           term_years = excluded.term_years, extension_years = excluded.extension_years, source = excluded.source,
           updated_at = excluded.updated_at`,
      )
      .run(contract.number, contract.customer, contract.start, contract.termYears, contract.extensionYears, source, at);
    this.db.prepare('DELETE FROM contract_devices WHERE number = ?').run(contract.number);
    const insert = this.db.prepare('INSERT OR IGNORE INTO contract_devices (number, serial) VALUES (?, ?)');
    for (const serial of contract.serials) insert.run(contract.number, serial);
  }

  private writeWindow(window: MaintenanceWindow, source: 'config' | 'api', at: string): number {
    const result = this.db
      .prepare(
        `INSERT INTO maintenance_windows (site, serial, from_ms, to_ms, reason, source, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        window.site ?? null,
        window.serial ?? null,
        Date.parse(window.from),
        Date.parse(window.to),
        window.reason,
        source,
        at,
      );
    return Number(result.lastInsertRowid);
  }

  private readDevice(serial: string): RegistryDevice | undefined {
    const row = this.db.prepare('SELECT * FROM devices WHERE serial = ?').get(serial) as DeviceRow | undefined;
    return row === undefined ? undefined : toDevice(row);
  }

  private load(): void {
    this.devices.clear();
    for (const row of this.db.prepare('SELECT * FROM devices').all() as DeviceRow[]) {
      this.devices.set(row.serial, toDevice(row));
    }
    this.loadContracts();
    this.loadWindows();
  }

  private loadContracts(): void {
    this.contractCache.clear();
    this.contracts.clear();
    this.contractsBySerial.clear();
    const rows = this.db.prepare('SELECT * FROM contracts').all() as ContractRow[];
    for (const row of rows) {
      this.contracts.set(row.number, {
        number: row.number,
        customer: row.customer,
        start: row.start,
        termYears: row.term_years,
        extensionYears: row.extension_years,
        serials: [],
        ...(row.ended_on !== null ? { endedOn: row.ended_on } : {}),
      });
    }
    const links = this.db.prepare('SELECT number, serial FROM contract_devices').all() as Array<{
      number: string;
      serial: string;
    }>;
    for (const { number, serial } of links) {
      this.contracts.get(number)?.serials.push(serial);
      const list = this.contractsBySerial.get(serial) ?? [];
      list.push(number);
      this.contractsBySerial.set(serial, list);
    }
  }

  private loadWindows(): void {
    const rows = this.db.prepare('SELECT * FROM maintenance_windows ORDER BY id').all() as WindowRow[];
    this.windows = rows.map((r) => ({
      id: r.id,
      site: r.site,
      serial: r.serial,
      fromMs: r.from_ms,
      toMs: r.to_ms,
      reason: r.reason,
      source: r.source as 'config' | 'api',
    }));
  }
}

interface DeviceRow {
  serial: string;
  model: string;
  site: string;
  customer: string;
  name: string | null;
  source: string;
  created_at: string;
}
interface ContractRow {
  number: string;
  customer: string;
  start: string;
  term_years: number;
  extension_years: number;
  ended_on: string | null;
}
interface WindowRow {
  id: number;
  site: string | null;
  serial: string | null;
  from_ms: number;
  to_ms: number;
  reason: string;
  source: string;
}

function toDevice(row: DeviceRow): RegistryDevice {
  return {
    serial: row.serial,
    model: row.model as DeviceModel,
    site: row.site,
    customer: row.customer,
    ...(row.name !== null ? { name: row.name } : {}),
    source: row.source as DeviceSource,
    createdAt: row.created_at,
  };
}
