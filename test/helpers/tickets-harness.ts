/**
 * A HubContext for the tickets module: a temp SQLite file, HubBus, ManualClock, silent pino, a bare fastify
 * (routes injected with `http.inject`), a fresh prom registry and a small in-test DeviceRegistry.
 * `restart()` simulates a hub restart: stop everything, reopen the same SQLite file, start again.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { PartitionDuties } from '../../hub/cluster/partition-duties.ts';
import { HubConfig } from '../../hub/config.ts';
import type { ContractInfo, DeviceRegistry, HubContext, RegisteredDevice } from '../../hub/context.ts';
import { type Db, openDb } from '../../hub/db.ts';
import { HubBus, type HubEventMap } from '../../hub/events.ts';
import type { ChangeFeed } from '../../hub/store/change-feed.ts';
import type { SqlStore } from '../../hub/store/sql-store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { createTicketsModule, type TicketsModule } from '../../hub/tickets/module.ts';
import type { SlaEvent } from '../../hub/types.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { advanceSettled } from './settle-clock.ts';

export interface TestContract {
  number: string;
  customer: string;
  start: string;
  years: number;
  serials: string[];
}

/** A DeviceRegistry over plain arrays (contract end = start + years - 1 day, Europe/Warsaw dates). */
export class TestRegistry implements DeviceRegistry {
  readonly devices = new Map<string, RegisteredDevice>();
  readonly contracts = new Map<string, TestContract>();

  addDevice(d: RegisteredDevice): this {
    this.devices.set(d.serial, d);
    return this;
  }

  addContract(c: TestContract): this {
    this.contracts.set(c.number, c);
    return this;
  }

  get(serial: string) {
    return this.devices.get(serial);
  }

  list() {
    return [...this.devices.values()];
  }

  private info(c: TestContract, atMs: number): ContractInfo {
    const end = DateTime.fromISO(c.start).plus({ years: c.years }).minus({ days: 1 }).toISODate()!;
    const today = DateTime.fromMillis(atMs, { zone: 'Europe/Warsaw' }).toISODate()!;
    return { number: c.number, customer: c.customer, start: c.start, end, isActive: c.start <= today && today <= end };
  }

  contractFor(serial: string, atMs: number) {
    const list = [...this.contracts.values()].filter((c) => c.serials.includes(serial));
    const newest = list.sort((a, b) => b.start.localeCompare(a.start))[0];
    return newest === undefined ? undefined : this.info(newest, atMs);
  }

  contract(number: string) {
    const c = this.contracts.get(number);
    return c === undefined ? undefined : { ...this.info(c, Date.now()), serials: c.serials };
  }

  isInMaintenance() {
    return false;
  }
}

/** The fleet most tests use. */
export function defaultRegistry(): TestRegistry {
  return new TestRegistry()
    .addDevice({ serial: '8L2X50-0001', model: 'StudioX50', site: 'waw-hq', customer: 'acme' })
    .addDevice({ serial: '8L2X30-0002', model: 'StudioX30', site: 'waw-hq', customer: 'acme' })
    .addDevice({ serial: '8L2E70-0003', model: 'StudioE70', site: 'krk-1', customer: 'acme' })
    .addDevice({ serial: '8L2X70-0004', model: 'StudioX70', site: 'krk-1', customer: 'acme' })
    .addContract({
      number: 'C-100',
      customer: 'acme',
      start: '2024-01-01',
      years: 5,
      serials: ['8L2X50-0001', '8L2X70-0004'],
    })
    .addContract({ number: 'C-OLD', customer: 'acme', start: '2019-01-01', years: 1, serials: ['8L2E70-0003'] });
}

export interface TicketsHarness {
  ctx: HubContext;
  clock: ManualClock;
  bus: HubBus;
  db: Db;
  http: FastifyInstance;
  module: TicketsModule;
  registry: TestRegistry;
  dbFile: string;
  tickets: HubEventMap['ticket'][0][];
  sla: SlaEvent[];
  /** Wait until what the bus and the clock started is stored and announced (the ticket store is async). */
  settle(): Promise<void>;
  /** `clock.advance(ms)`, letting each fired timer's async work settle before the next (settle-clock.ts). */
  advance(ms: number): Promise<void>;
  restart(): Promise<TicketsHarness>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  start: string;
  config?: Record<string, unknown>;
  registry?: TestRegistry;
  /** Reuse an existing data folder (restart); otherwise a fresh temp folder. */
  dir?: string;
  clock?: ManualClock;
  /** Which sites this node runs the duties for (issue 16); default all (a single node). */
  duties?: PartitionDuties;
  /** The tickets' store (default: the SQLite file), e.g. a PostgresStore on a schema shared by two harnesses. */
  sql?: () => SqlStore;
  /** Other hub nodes' writes (default: none), e.g. a PgChangeFeed on that schema; started here. */
  changeFeed?: (sql: SqlStore, metrics: Registry) => ChangeFeed;
}

export async function makeTicketsHarness(options: HarnessOptions): Promise<TicketsHarness> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'hezo-tickets-'));
  const dbFile = join(dir, 'hub.sqlite');
  const clock = options.clock ?? new ManualClock(options.start);
  const registry = options.registry ?? defaultRegistry();
  const config = HubConfig.parse({ version: 1, api: { token: 'admin-token-0123456789abcdef' }, ...options.config });
  const db = openDb(dbFile);
  const http = Fastify({ logger: false });
  const bus = new HubBus((err) => {
    throw err;
  });
  const sql = options.sql?.() ?? new SqliteStore(db);
  const metrics = new Registry();
  const changeFeed = options.changeFeed?.(sql, metrics);
  await changeFeed?.start();
  const ctx: HubContext = {
    config,
    db,
    sql,
    bus,
    clock,
    logger: pino({ level: 'silent' }),
    metrics,
    services: { registry, ...(changeFeed !== undefined ? { changeFeed } : {}) },
    http,
    ...(options.duties !== undefined ? { duties: options.duties } : {}),
  };
  const tickets: HubEventMap['ticket'][0][] = [];
  const sla: SlaEvent[] = [];
  bus.on('ticket', (e) => tickets.push(e));
  bus.on('sla', (e) => sla.push(e));
  const module = createTicketsModule(ctx);
  await module.start?.();
  await http.ready();
  let isClosed = false;
  const close = async (removeDir: boolean) => {
    if (isClosed) return;
    isClosed = true;
    await changeFeed?.close();
    await module.stop?.();
    await http.close();
    if (sql.dialect === 'postgres') await sql.close();
    db.close();
    if (removeDir) rmSync(dir, { recursive: true, force: true });
  };
  return {
    ctx,
    clock,
    bus,
    db,
    http,
    module,
    registry,
    dbFile,
    tickets,
    sla,
    settle: () => module.idle(),
    advance: (ms) => advanceSettled(clock, ms, () => module.idle()),
    async restart() {
      await close(false);
      return makeTicketsHarness({ ...options, dir, clock, registry });
    },
    close: () => close(true),
  };
}
