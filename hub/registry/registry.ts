/**
 * The device registry (SLA-2): serial -> model, site, customer, contracts; plus maintenance windows.
 * Seeded from the config at every start (config entries win), editable through the API, auto-filled from
 * health records of devices nobody registered (`source: auto`, no contract). Reads are served from memory
 * (hub/registry/registry-view.ts).
 *
 * On the SqlStore (issue 16): the same queries on the embedded SQLite file and on PostgreSQL, one migration list
 * (hub/store/registry-repo.ts; versions 1..2 are what earlier hubs created). Writes run one after another through
 * one queue (shared with the customers, so an import over both is ordered with every other write), each in a
 * transaction that also announces it on the change feed (store `registry`, key `d:<serial>`, `c:<number>` or `w`);
 * the view then takes the stored rows. Another node's change reloads that key through the same queue, the whole
 * view after the feed reconnects: a device, contract or window made on node A is in node B's view within the
 * feed's delay. Config seeding is idempotent and serialised across nodes (advisory lock on PostgreSQL).
 */

import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { HealthRecord } from '../../protocols/health.ts';
import type { ContractConfig, DeviceConfig, HubConfig, MaintenanceWindow } from '../config.ts';
import type { ContractInfo, DeviceRegistry } from '../context.ts';
import { type ChangeFeed, followChanges, NO_CHANGE_FEED } from '../store/change-feed.ts';
import { lockForTransaction, type NewDevice, RegistryRepo } from '../store/registry-repo.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { catchRefusal, Refused, refusedAfterCommit } from './refusal.ts';
import {
  type DeviceSource,
  type RegistryDevice,
  RegistryView,
  type StoredMaintenanceWindow,
  toRegistryDevice,
} from './registry-view.ts';

export type { ContractRecord, DeviceSource, RegistryDevice, StoredMaintenanceWindow } from './registry-view.ts';

/** The change feed's store name and the advisory lock of bulk writes (config seeding, CSV import). */
export const REGISTRY_STORE = 'registry';
export const REGISTRY_BULK_LOCK = 'registry.bulk';

export interface RegistryOptions {
  feed?: ChangeFeed;
  /** The write queue (shared with the customers); default one of its own. */
  writes?: SerialQueue;
  /** A write of the hot path (a device first seen) failed, or another node's change could not be loaded. */
  onWriteError?: (err: unknown) => void;
}

const deviceKey = (serial: string) => `d:${serial}`;
const contractKey = (number: string) => `c:${number}`;
const WINDOWS_KEY = 'w';

function newDevice(device: DeviceConfig, source: DeviceSource): NewDevice {
  return { ...device, name: device.name ?? null, source };
}

export class Registry implements DeviceRegistry {
  private readonly sql: SqlStore;
  private readonly config: Readonly<HubConfig>;
  private readonly now: () => number;
  private readonly feed: ChangeFeed;
  readonly writes: SerialQueue;
  /** Devices first seen in health records, not yet written (ensureFromRecord). */
  private readonly firstSeen: { device: ReturnType<typeof newDevice>; at: string }[] = [];
  private readonly view: RegistryView;

  constructor(sql: SqlStore, config: Readonly<HubConfig>, now: () => number, options: RegistryOptions = {}) {
    this.sql = sql;
    this.config = config;
    this.now = now;
    this.feed = options.feed ?? NO_CHANGE_FEED;
    this.writes = options.writes ?? new SerialQueue(options.onWriteError ?? (() => {}));
    this.view = new RegistryView(config.calendar.timeZone);
  }

  /** Create tables, apply the config (devices, contracts, maintenance), load everything into memory. */
  async start(): Promise<void> {
    await new RegistryRepo(this.sql).migrate();
    const at = this.iso();
    await this.sql.transaction(async (tx) => {
      await lockForTransaction(tx, REGISTRY_BULK_LOCK); // two nodes starting together: one seeds, then the other
      const repo = new RegistryRepo(tx);
      for (const device of this.config.devices) await repo.upsertDevice(newDevice(device, 'config'), at);
      for (const contract of this.config.contracts) await repo.upsertContract(contract, 'config', at);
      await repo.deleteWindows('config');
      for (const window of this.config.maintenance) await repo.addWindow(windowRow(window), 'config', at);
      await this.feed.notify(REGISTRY_STORE, undefined, tx);
    });
    followChanges(this.feed, REGISTRY_STORE, this.writes, {
      one: (key) => this.reloadKey(key),
      all: () => this.load(),
    });
    await this.load();
  }

  /** Settles when every write (and reload) asked so far has run. */
  idle(): Promise<void> {
    return this.writes.idle();
  }

  get(serial: string): RegistryDevice | undefined {
    return this.view.devices.get(serial);
  }

  list(): RegistryDevice[] {
    return [...this.view.devices.values()];
  }

  contractFor(serial: string, atMs: number): ContractInfo | undefined {
    return this.view.contractFor(serial, atMs);
  }

  contract(number: string): (ContractInfo & { serials: string[] }) | undefined {
    return this.view.contract(number, this.now());
  }

  listContracts(atMs: number): Array<ContractInfo & { serials: string[]; termYears: number; extensionYears: number }> {
    return this.view.listContracts(atMs);
  }

  isInMaintenance(serial: string, site: string, atMs: number): boolean {
    return this.view.isInMaintenance(serial, site, atMs);
  }

  listMaintenance(): StoredMaintenanceWindow[] {
    return this.view.listMaintenance();
  }

  /** Register (or edit) a device. */
  async upsertDevice(device: DeviceConfig, source: DeviceSource): Promise<RegistryDevice> {
    await this.write(deviceKey(device.serial), (repo) => repo.upsertDevice(newDevice(device, source), this.iso()));
    return this.stored(device.serial);
  }

  /** Create only: DUPLICATE_KEY when the serial is registered (also by another node meanwhile). */
  async insertDevice(device: DeviceConfig): Promise<RegistryDevice> {
    await this.write(deviceKey(device.serial), async (repo) => {
      if (!(await repo.insertDevice(newDevice(device, 'api'), this.iso())))
        throw new AppError(ErrorCode.DUPLICATE_KEY, `device "${device.serial}" already exists`);
    });
    return this.stored(device.serial);
  }

  /** A device just written, as the view now holds it (gone: another node removed it at once). */
  private stored(serial: string): RegistryDevice {
    const device = this.view.devices.get(serial);
    if (device === undefined) throw new AppError(ErrorCode.NOT_FOUND, `device "${serial}" not found`);
    return device;
  }

  /**
   * A device first seen in a health record: registered from the record, without a contract. Hot path: a map
   * lookup; the view has it at once, the row is written after (never over a device another node registered).
   */
  ensureFromRecord(record: HealthRecord): void {
    const serial = record.identity.serial;
    if (this.view.devices.has(serial)) return;
    const device = newDevice(
      { serial, model: record.identity.model, site: record.site, customer: record.customer },
      'auto',
    );
    const at = this.iso();
    this.view.devices.set(serial, toRegistryDevice({ ...device, createdAt: at }));
    // first-seen devices come in waves (a hub start, a new agent): written together, one transaction per wave
    this.firstSeen.push({ device, at });
    if (this.firstSeen.length === 1) void this.writes.push(() => this.writeFirstSeen());
  }

  /** Devices first seen since the last write, in one transaction; a serial another node stored first is reloaded. */
  private async writeFirstSeen(): Promise<void> {
    const batch = this.firstSeen.splice(0);
    const storedElsewhere: string[] = [];
    await this.sql.transaction(async (tx) => {
      const repo = new RegistryRepo(tx);
      for (const { device, at } of batch) {
        if (await repo.insertDevice(device, at)) await this.feed.notify(REGISTRY_STORE, deviceKey(device.serial), tx);
        else storedElsewhere.push(device.serial);
      }
    });
    for (const serial of storedElsewhere) await this.reloadKey(deviceKey(serial));
  }

  upsertContract(contract: ContractConfig): Promise<ContractInfo & { serials: string[] }> {
    return this.writeContract(contract, false);
  }

  /** Create only: DUPLICATE_KEY when the number exists (never a silent replace, also across nodes). */
  insertContract(contract: ContractConfig): Promise<ContractInfo & { serials: string[] }> {
    if (this.view.hasContract(contract.number))
      return Promise.reject(new AppError(ErrorCode.DUPLICATE_KEY, `contract "${contract.number}" already exists`));
    return this.writeContract(contract, true);
  }

  private async writeContract(contract: ContractConfig, create: boolean) {
    await this.write(contractKey(contract.number), async (repo) => {
      if (!(await repo.upsertContract(contract, 'api', this.iso(), create)))
        throw new AppError(ErrorCode.DUPLICATE_KEY, `contract "${contract.number}" already exists`);
    });
    return this.contract(contract.number)!;
  }

  /** End a contract early: it covers its devices up to and including `lastDay` (local date). */
  async endContract(number: string, lastDay: string): Promise<ContractInfo & { serials: string[] }> {
    const notFound = () => new AppError(ErrorCode.NOT_FOUND, `contract "${number}" not found`);
    if (!this.view.hasContract(number)) throw notFound();
    await this.write(contractKey(number), async (repo) => {
      if (!(await repo.endContract(number, lastDay, this.iso()))) throw notFound();
    });
    const ended = this.contract(number);
    if (ended === undefined) throw notFound();
    return ended;
  }

  async removeDevice(serial: string): Promise<RegistryDevice> {
    const notFound = () => new AppError(ErrorCode.NOT_FOUND, `device "${serial}" not found`);
    const device = this.view.devices.get(serial);
    if (device === undefined) throw notFound();
    await this.write(deviceKey(serial), async (repo) => {
      if (!(await repo.deleteDevice(serial))) throw notFound();
    });
    return device;
  }

  /** End a maintenance window now (or delete one that has not started). */
  async endMaintenance(id: number): Promise<StoredMaintenanceWindow | undefined> {
    const notFound = () => new AppError(ErrorCode.NOT_FOUND, `maintenance window ${id} not found`);
    if (!this.view.hasWindow(id)) throw notFound();
    await this.write(WINDOWS_KEY, async (repo) => {
      if ((await repo.endWindow(id, this.now())) === 'missing') throw notFound();
    });
    return this.listMaintenance().find((w) => w.id === id);
  }

  async addMaintenance(window: MaintenanceWindow): Promise<StoredMaintenanceWindow> {
    const id = await this.write(WINDOWS_KEY, (repo) => repo.addWindow(windowRow(window), 'api', this.iso()));
    return this.listMaintenance().find((w) => w.id === id)!;
  }

  /** Re-read everything from the store (after a bulk import; runs in the write queue's order when called there). */
  reload(): Promise<void> {
    return this.load();
  }

  /**
   * One write: in a transaction with its change-feed notice, through the write queue; then the view takes the
   * stored rows of `key` (also when the write was refused: another node may have changed them).
   */
  private write<T>(key: string, fn: (repo: RegistryRepo) => Promise<T>): Promise<T> {
    return this.writes.run(async () => {
      try {
        return refusedAfterCommit(
          await this.sql.transaction(async (tx) => {
            const result = await catchRefusal(() => fn(new RegistryRepo(tx)));
            if (!(result instanceof Refused)) await this.feed.notify(REGISTRY_STORE, key, tx);
            return result;
          }),
        );
      } finally {
        await this.reloadKey(key).catch(() => {}); // a store that cannot be read: the write's own answer says so
      }
    });
  }

  /** The stored rows of one feed key into the view (an unknown key: everything). */
  private async reloadKey(key: string): Promise<void> {
    const repo = new RegistryRepo(this.sql);
    if (key.startsWith('d:')) {
      const serial = key.slice(2);
      const [row, numbers] = await Promise.all([repo.device(serial), repo.contractsOf(serial)]);
      this.view.setDevice(serial, row);
      this.view.setLinksOf(serial, numbers);
    } else if (key.startsWith('c:')) {
      const number = key.slice(2);
      this.view.setContract(number, await repo.contract(number));
    } else if (key === WINDOWS_KEY) {
      this.view.setWindows(await repo.listWindows());
    } else await this.load();
  }

  private async load(): Promise<void> {
    const repo = new RegistryRepo(this.sql);
    const devices = await repo.listDevices();
    const contracts = await repo.listContracts();
    const windows = await repo.listWindows();
    this.view.setAll(devices, contracts, windows);
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }
}

function windowRow(window: MaintenanceWindow) {
  return {
    site: window.site ?? null,
    serial: window.serial ?? null,
    fromMs: Date.parse(window.from),
    toMs: Date.parse(window.to),
    reason: window.reason,
  };
}
