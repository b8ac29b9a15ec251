/**
 * What every hub module receives, and the small service interfaces modules offer each other.
 * `createHub` (hub/hub.ts) builds the context, then creates the modules in order; a module that provides a
 * service sets its slot in `ctx.services` when created, so later modules can use it.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Clock } from '../protocols/clock.ts';
import type { DeviceModel } from '../protocols/health.ts';
import type { Command, CommandReply } from '../protocols/messages.ts';
import type { AuditStore } from './audit/store.ts';
import type { PartitionDuties } from './cluster/partition-duties.ts';
import type { HubConfig } from './config.ts';
import type { Db } from './db.ts';
import type { HubBus } from './events.ts';
import type { Principal } from './people/roles.ts';
import type { DeviceOwnership } from './registry/ownership.ts';
import type { ChangeFeed } from './store/change-feed.ts';
import type { SqlStore } from './store/sql-store.ts';
import type { AttachmentMeta, DeviceView, IdentityAlertView, TicketHistoryEntry, TicketView } from './types.ts';

export interface ContractInfo {
  number: string;
  customer: string;
  start: string;
  /** Last covered local date (inclusive). */
  end: string;
  isActive: boolean;
}

export interface RegisteredDevice {
  serial: string;
  model: DeviceModel;
  site: string;
  customer: string;
  name?: string;
}

/** Device registry: serial -> model, site, customer, contract (SLA-2). */
export interface DeviceRegistry {
  get(serial: string): RegisteredDevice | undefined;
  list(): RegisteredDevice[];
  /** The contract covering `serial` (its newest), with whether it is active at `atMs`. */
  contractFor(serial: string, atMs: number): ContractInfo | undefined;
  contract(number: string): (ContractInfo & { serials: string[] }) | undefined;
  /** Every contract (config and API-added), with whether it is active at `atMs` (tickets: expiry warnings). */
  listContracts?(atMs: number): (ContractInfo & { serials: string[] })[];
  /** True when the device or its site is in a maintenance window at `atMs`. */
  isInMaintenance(serial: string, site: string, atMs: number): boolean;
}

/** Live device state, as the API and dashboards show it. */
export interface DeviceDirectory {
  list(): DeviceView[];
  get(serial: string): DeviceView | undefined;
}

/** Tickets (hub/tickets): read from the store, so async (PostgreSQL with several hub nodes, issue 16). */
export interface TicketDirectory {
  list(filter: { state: 'open' | 'closed' | 'all' }): Promise<TicketView[]>;
  get(id: string): Promise<(TicketView & { history: TicketHistoryEntry[] }) | undefined>;
  /** The ticket's customer at once (scope checks): null none, undefined no such ticket known to this node. */
  ownerOf(id: string): string | null | undefined;
}

/** What opens or updates the one automatic ticket of a device (tickets module, hub/tickets/service.ts). */
export interface AutoTicketInput {
  serial: string;
  /** `down` -> P1, `degraded` -> P2, `config` (a configuration problem, hub/rules) -> P3 (SLA table). */
  state: 'down' | 'degraded' | 'config';
  /** One open automatic ticket per device and key; default the device-health key (a config rule uses its own). */
  autoKey?: string;
  /** Machine code of the cause (`all-channels-failed`, ...). */
  reason: string;
  evidence: string[];
  /** Used when the registry does not know the serial. */
  site?: string;
  customer?: string;
  /** ISO instant the detector saw the change (recorded in the note; clocks start when the ticket is sent). */
  at?: string;
}

/**
 * An attachment stored by the evidence module; the bytes are in the database by `sha256` (hub/evidence/attachment-
 * content.ts), else at `storedPath` (under the data folder), where earlier hubs wrote them.
 */
export interface AttachmentInput extends AttachmentMeta {
  storedPath: string;
}

/** The tickets module's internal API for other hub modules (evidence, API). Errors are AppError. */
export interface TicketService extends TicketDirectory {
  /** Open the device's automatic ticket, or escalate/annotate the open one (never a second one). */
  openAuto(input: AutoTicketInput): Promise<{ ticket: TicketView; change: 'opened' | 'escalated' | 'note' }>;
  addAttachment(ticketId: string, meta: AttachmentInput): Promise<TicketView>;
  attachment(ticketId: string, name: string): Promise<AttachmentInput | undefined>;
  /** Changes of one ticket are stored and announced in call order, also when the caller does not await. */
  addNote(ticketId: string, actor: string, note: string, kind?: 'note' | 'internal-note'): Promise<TicketView>;
  setSummary(ticketId: string, text: string): Promise<TicketView>;
}

/** Sends commands to agents over MQTT and resolves with their reply (or rejects with COMMAND_TIMEOUT, or AGENT_OFFLINE when the agent is or goes offline). */
export interface AgentCommands {
  send(target: { site: string; agentId: string }, command: Command): Promise<CommandReply>;
  isOnline(agentId: string): boolean;
  /** The agent currently watching a device (from its health records/presence). */
  agentFor(serial: string): { site: string; agentId: string } | undefined;
}

/** A hub node's part of the cluster (hub/cluster): what `/healthz` shows, and the epoch to act (and write) under. */
export interface ClusterService {
  health(): { node: string; partitions: number[]; liveNodes: number };
  /** The fencing epoch under which this node may act for `partition` now, or undefined. */
  epochOf(partition: number): number | undefined;
}

export interface HubServices {
  registry?: DeviceRegistry;
  devices?: DeviceDirectory;
  tickets?: TicketDirectory;
  ticketService?: TicketService;
  commands?: AgentCommands;
  /** Which site may speak for (and receive commands about) which device (hub/registry/ownership.ts). */
  ownership?: DeviceOwnership;
  /** People module (hub/people): who is calling a websocket upgrade. */
  people?: { authenticateUpgrade(req: IncomingMessage, url: URL): Promise<Principal | undefined> };
  /** Customers known to the registry (config and API): the reference for referential checks. */
  customers?: { exists(id: string): boolean };
  /** Agents added, rotated or removed at run time (registry API): the broker accepts them at once. */
  agentAccounts?: {
    set(agent: { id: string; site: string; passwordHash: string }): void;
    delete(agentId: string): void;
  };
  /** The append-only audit trail (hub/audit). */
  audit?: AuditStore;
  /** This node's partition leases when `database.url` is set (hub/cluster/module.ts). */
  cluster?: ClusterService;
  /** Open identity alerts per device (hub/identity/module.ts). */
  identityAlerts?: { forSerial(serial: string): IdentityAlertView[] };
  /** Other hub nodes' writes to the shared store, for in-memory views (hub/store/change-feed.ts; none on SQLite). */
  changeFeed?: ChangeFeed;
}

export interface HubContext {
  config: Readonly<HubConfig>;
  db: Db;
  /**
   * The same database behind the SqlStore abstraction (issue 16: one SQL for SQLite and PostgreSQL). Stores move
   * onto it one by one (audit first); the others still use `db` directly.
   */
  sql: SqlStore;
  bus: HubBus;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  services: HubServices;
  /** The HTTP server's fastify instance: modules add their routes in `createXModule`. */
  http: FastifyInstance;
  /**
   * Which sites this node runs the automatic duties for (issue 16, hub/cluster/partition-duties.ts); set by createHub
   * before any module is created. Absent (a test's context) = a single node: every site (use `dutiesOf(ctx)`).
   */
  duties?: PartitionDuties;
}

export interface HubModule {
  readonly name: string;
  start?(): Promise<void>;
  /** Stop in reverse creation order: flush, close sockets. */
  stop?(): Promise<void>;
}

export type HubModuleFactory = (ctx: HubContext) => HubModule;
