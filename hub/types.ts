/** Domain types shared by the hub's modules (detector, registry, tickets, websocket, InfluxDB, API). */
import type { DeviceModel, HealthRecord } from '../protocols/health.ts';

export type DeviceState = 'up' | 'degraded' | 'down' | 'unknown';

/** GET /api/devices row (interfaces.md). */
export interface DeviceView {
  serial: string;
  model: DeviceModel;
  site: string;
  customer: string;
  name?: string;
  state: DeviceState;
  /** ISO instant of the last state change. */
  since: string;
  lastSeen: string | null;
  agentId: string | null;
  firmware: string | null;
  contract: string | null;
  /** Why the device is in its state (short, human). */
  reason?: string;
  maintenance?: boolean;
  /** Problem flags behind `degraded`/`down` (e.g. `component-failed:camera`, `flapping`). */
  problems?: string[];
  /** SLA-2 coverage of `contract` today: `active`, or `none` (no contract, or expired). */
  coverage?: 'active' | 'none';
  /** While `down`: the first failed poll's time (the outage start), next to `since` (when it was detected). */
  faultAt?: string;
  /** The device's REST certificate or SSH host key changed and no admin accepted it yet (hub/identity). */
  identityAlerts?: IdentityAlertView[];
}

export interface IdentityAlertView {
  channel: 'rest' | 'ssh';
  fingerprint: string | null;
  status: 'refused' | 'accepted-after-reboot';
  detail: string;
  at: string;
}

/** One stored and announced device state change. */
export interface DeviceTransition {
  serial: string;
  site: string;
  customer: string;
  agentId: string | null;
  from: DeviceState;
  to: DeviceState;
  /** ISO instant (hub clock, or the record's time for replayed history). */
  at: string;
  /** Machine code of the cause: `all-channels-failed`, `device-gone`, `component-failed`, `call-quality`, `temperature`, `flapping`, `agent-offline`, `recovered`, ... */
  reason: string;
  /** Human-readable evidence lines (which probes failed and how, which component, ...). */
  evidence: string[];
  /** Set when the detector saw the device in a maintenance window: tickets are not opened. */
  inMaintenance: boolean;
  /**
   * Set on a `down` that went together with (nearly) every other device of its agent while the agent stayed
   * online (room network down): ONE site alert (`site-network-down`) stands for them, so no per-device ticket.
   */
  groupedInSiteAlert?: boolean;
  /** Problem flags the detector currently sees (for `degraded`: which ones). */
  problems: string[];
  /**
   * On `down`: the first failed poll's time (ISO, from the records, replayed ones included), next to the detection
   * time `at`. Evidence only: the SLA clock starts when the ticket is sent (README "Outage start", SLA-6).
   */
  faultAt?: string;
}

/** A stored transition as read back (GET /api/devices/:serial `history`). */
export interface StoredTransition extends DeviceTransition {
  id: number;
}

/** One alert for a whole site (agent offline): never one ticket per device. */
export interface SiteAlert {
  site: string;
  agentId: string;
  status: 'raised' | 'cleared';
  at: string;
  reason: string;
  serials: string[];
  /** The cause in words, when the reason code alone does not say it (e.g. "agent clock 600 s ahead"). */
  detail?: string;
}

export type Priority = 'P1' | 'P2' | 'P3';
export type Channel = 'auto' | 'phone' | 'portal' | 'email';
export type TicketState =
  | 'open'
  | 'acknowledged'
  | 'verifying'
  | 'accepted'
  | 'rejected'
  | 'replacement_shipped'
  | 'replacement_delivered'
  | 'faulty_returned'
  | 'closed';

export interface AttachmentMeta {
  name: string;
  size: number;
  sha256: string;
  kind: string;
  capturedAt?: string | null;
}

export type SlaClockName = 'reaction' | 'update' | 'delivery' | 'return';

/** GET /api/tickets row (interfaces.md). */
export interface TicketView {
  id: string;
  serial: string;
  model: string | null;
  site: string | null;
  customer: string | null;
  priority: Priority;
  channel: Channel;
  state: TicketState;
  contract: string | null;
  coverage: 'active' | 'none';
  openedAt: string;
  title: string;
  summary?: string;
  sla: {
    clockStart: string | null;
    reactionDue: string | null;
    nextUpdateDue: string | null;
    deliveryDue: string | null;
    returnDue: string | null;
    breached: SlaClockName[];
    warned: SlaClockName[];
    /** Clocks running now (tickets module). */
    running?: SlaClockName[];
    /** Earliest due of the running clocks (what GET /api/tickets sorts by). */
    nextDue?: string | null;
  };
  attachments: AttachmentMeta[];
  /** Manual tickets: who reported it and what they said. */
  reporter?: string;
  description?: string;
}

export interface TicketHistoryEntry {
  at: string;
  from: TicketState | null;
  to: TicketState;
  actor: string;
  note: string;
  /** `opened`, `transition`, `note`, `contact`, `escalated`, `device-state`, `recovered`, `delivery-agreement`, ... */
  kind?: string;
}

export interface SlaEvent {
  ticketId: string;
  serial: string;
  priority: Priority;
  clock: SlaClockName;
  level: 'warning' | 'breach';
  dueAt: string;
  at: string;
}

export interface AgentPresenceEvent {
  agentId: string;
  site: string;
  status: 'online' | 'offline';
  at: string;
}

export type { HealthRecord };
