/**
 * A HubContext for module tests without the hub core: bare fastify, a HubBus, a clock, a silent logger,
 * a fresh prom registry and in-memory device/ticket directories the test fills by hand.
 */

import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { HubConfig } from '../../hub/config.ts';
import type { DeviceDirectory, HubContext, TicketDirectory } from '../../hub/context.ts';
import type { Db } from '../../hub/db.ts';
import { HubBus } from '../../hub/events.ts';
import type { SqlStore } from '../../hub/store/sql-store.ts';
import type { DeviceView, TicketHistoryEntry, TicketView } from '../../hub/types.ts';
import { type Clock, systemClock } from '../../protocols/clock.ts';

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const READ_TOKEN = 'read-token-0123456789abcdef';

export class MemoryDevices implements DeviceDirectory {
  readonly map = new Map<string, DeviceView>();
  list(): DeviceView[] {
    return [...this.map.values()];
  }
  get(serial: string): DeviceView | undefined {
    return this.map.get(serial);
  }
}

export class MemoryTickets implements TicketDirectory {
  readonly map = new Map<string, TicketView & { history: TicketHistoryEntry[] }>();
  list(filter: { state: 'open' | 'closed' | 'all' }): Promise<TicketView[]> {
    const closed = (t: TicketView) => t.state === 'closed' || t.state === 'rejected';
    return Promise.resolve(
      [...this.map.values()]
        .filter((t) => filter.state === 'all' || (filter.state === 'closed' ? closed(t) : !closed(t)))
        .map(({ history: _history, ...t }) => t),
    );
  }
  get(id: string) {
    return Promise.resolve(this.map.get(id));
  }
  ownerOf(id: string) {
    return this.map.get(id)?.customer;
  }
}

export interface FakeHubContext {
  ctx: HubContext;
  bus: HubBus;
  devices: MemoryDevices;
  tickets: MemoryTickets;
  http: FastifyInstance;
}

/** `config` is a partial raw hub config merged over a minimal valid one. */
export function makeFakeHubContext(
  options: { config?: Record<string, unknown>; clock?: Clock; http?: FastifyInstance } = {},
): FakeHubContext {
  const config = HubConfig.parse({
    version: 1,
    api: { token: ADMIN_TOKEN, readTokens: [READ_TOKEN] },
    ...options.config,
  });
  const http = options.http ?? Fastify({ logger: false });
  const bus = new HubBus();
  const devices = new MemoryDevices();
  const tickets = new MemoryTickets();
  const ctx: HubContext = {
    config,
    db: undefined as unknown as Db,
    sql: undefined as unknown as SqlStore,
    bus,
    clock: options.clock ?? systemClock,
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
    services: { devices, tickets },
    http,
  };
  return { ctx, bus, devices, tickets, http };
}

export function makeDevice(overrides: Partial<DeviceView> & { serial: string }): DeviceView {
  return {
    model: 'StudioX50',
    site: 'waw-hq',
    customer: 'acme',
    state: 'up',
    since: new Date().toISOString(),
    lastSeen: new Date().toISOString(),
    agentId: 'agent-1',
    firmware: '4.1.0',
    contract: 'C-1',
    ...overrides,
  };
}

export function makeTicket(overrides: Partial<TicketView> & { id: string }): TicketView {
  const openedAt = overrides.openedAt ?? new Date().toISOString();
  return {
    serial: 'SN-1',
    model: 'StudioX50',
    site: 'waw-hq',
    customer: 'acme',
    priority: 'P1',
    channel: 'auto',
    state: 'open',
    contract: 'C-1',
    coverage: 'active',
    openedAt,
    title: 'Device down',
    sla: {
      clockStart: openedAt,
      reactionDue: new Date(Date.parse(openedAt) + 3_600_000).toISOString(),
      nextUpdateDue: null,
      deliveryDue: null,
      returnDue: null,
      breached: [],
      warned: [],
    },
    attachments: [],
    ...overrides,
  };
}
