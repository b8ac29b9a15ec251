/**
 * The registry's in-memory view (read synchronously on the hot path: every health record asks for its device,
 * contract and maintenance): devices, contracts with their serials, maintenance windows. Filled from the store
 * (hub/registry/registry.ts) as a whole or one key at a time; contract answers cached per serial and local date.
 */
import type { DeviceModel } from '../../protocols/health.ts';
import type { ContractInfo, RegisteredDevice } from '../context.ts';
import type { ContractRow, DeviceRow, WindowRow } from '../store/registry-repo.ts';
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

export function toRegistryDevice(row: DeviceRow): RegistryDevice {
  return {
    serial: row.serial,
    model: row.model as DeviceModel,
    site: row.site,
    customer: row.customer,
    ...(row.name !== null ? { name: row.name } : {}),
    source: row.source as DeviceSource,
    createdAt: row.createdAt,
  };
}

function isSameDevice(a: RegistryDevice | undefined, b: RegistryDevice): boolean {
  return (
    a !== undefined &&
    a.serial === b.serial &&
    a.model === b.model &&
    a.site === b.site &&
    a.customer === b.customer &&
    a.name === b.name &&
    a.source === b.source &&
    a.createdAt === b.createdAt
  );
}

function toRecord(row: ContractRow): ContractRecord {
  return {
    number: row.number,
    customer: row.customer,
    start: row.start,
    termYears: row.termYears,
    extensionYears: row.extensionYears,
    serials: [...row.serials],
    ...(row.endedOn !== null ? { endedOn: row.endedOn } : {}),
  };
}

export class RegistryView {
  private readonly timeZone: string;
  readonly devices = new Map<string, RegistryDevice>();
  private readonly contracts = new Map<string, ContractRecord>();
  private readonly contractsBySerial = new Map<string, string[]>();
  private windows: WindowRow[] = [];
  /** contractFor results per serial for one local date (hot path: every health record builds a view). */
  private readonly contractCache = new Map<string, { today: string; info: ContractInfo | undefined }>();
  private todayMinute = Number.NaN;
  private todayDate = '';

  constructor(timeZone: string) {
    this.timeZone = timeZone;
  }

  setDevice(serial: string, row: DeviceRow | undefined): void {
    if (row === undefined) {
      this.devices.delete(serial);
      return;
    }
    const next = toRegistryDevice(row);
    // the same object when nothing changed: the hot path tells a changed device by identity (outage `shown`)
    if (!isSameDevice(this.devices.get(serial), next)) this.devices.set(serial, next);
  }

  setAll(devices: DeviceRow[], contracts: ContractRow[], windows: WindowRow[]): void {
    this.devices.clear();
    for (const row of devices) this.devices.set(row.serial, toRegistryDevice(row));
    this.contracts.clear();
    for (const row of contracts) this.contracts.set(row.number, toRecord(row));
    this.reindex();
    this.windows = windows;
  }

  /** One contract as stored (undefined: gone). */
  setContract(number: string, row: ContractRow | undefined): void {
    if (row === undefined) this.contracts.delete(number);
    else this.contracts.set(number, toRecord(row));
    this.reindex();
  }

  /** The contracts that list `serial`, as stored (a device's links changed, e.g. it was removed). */
  setLinksOf(serial: string, numbers: readonly string[]): void {
    for (const contract of this.contracts.values()) {
      const listed = contract.serials.includes(serial);
      const should = numbers.includes(contract.number);
      if (listed && !should) contract.serials = contract.serials.filter((s) => s !== serial);
      else if (!listed && should) contract.serials.push(serial);
    }
    this.reindex();
  }

  setWindows(windows: WindowRow[]): void {
    this.windows = windows;
  }

  private reindex(): void {
    this.contractCache.clear();
    this.contractsBySerial.clear();
    for (const c of this.contracts.values()) {
      for (const serial of c.serials) {
        const list = this.contractsBySerial.get(serial) ?? [];
        list.push(c.number);
        this.contractsBySerial.set(serial, list);
      }
    }
  }

  hasContract(number: string): boolean {
    return this.contracts.has(number);
  }

  hasWindow(id: number): boolean {
    return this.windows.some((w) => w.id === id);
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

  contract(number: string, atMs: number): (ContractInfo & { serials: string[] }) | undefined {
    const record = this.contracts.get(number);
    return record === undefined ? undefined : { ...this.info(record, atMs), serials: [...record.serials] };
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
      source: w.source as 'config' | 'api',
    }));
  }

  /**
   * The local date of `atMs`, memoised per minute: every time zone's offset is a whole number of minutes (in
   * practice quarter hours), so the local date never changes inside one UTC minute.
   */
  private localToday(atMs: number): string {
    const minute = Math.floor(atMs / 60_000);
    if (minute !== this.todayMinute) {
      this.todayMinute = minute;
      this.todayDate = localDate(atMs, this.timeZone);
    }
    return this.todayDate;
  }

  private info(c: ContractRecord, atMs: number): ContractInfo {
    const fullEnd = contractEnd(c.start, c.termYears, c.extensionYears);
    const end = c.endedOn !== undefined && c.endedOn < fullEnd ? c.endedOn : fullEnd;
    const today = this.localToday(atMs);
    return { number: c.number, customer: c.customer, start: c.start, end, isActive: isActiveOn(today, c.start, end) };
  }
}
