/**
 * The websocket stream's wire format (`GET /ws`, interfaces.md).
 * Server -> client: one `snapshot`, then deltas with a per-hub monotonically increasing `seq`.
 * A client that sees a gap sends `{type:'resync'}` (or reconnects) and gets a fresh snapshot.
 */
import { z } from 'zod';
import type { DeviceView, SiteAlert, SlaEvent, TicketView } from '../types.ts';

export interface SnapshotMessage {
  type: 'snapshot';
  /** The seq of the last delta already reflected in this snapshot; the next delta has `seq + 1`. */
  seq: number;
  at: string;
  /**
   * The hub node this stream comes from (`node` in the config, else the host name; as `/healthz` says). Added for
   * issue 16 (several hubs): optional, so a page reading an older hub shows the hub's address instead.
   */
  node?: string;
  devices: DeviceView[];
  /** Open tickets (every state but closed/rejected), with their SLA clocks. */
  tickets: TicketView[];
  /** Site alerts currently raised. */
  siteAlerts: SiteAlert[];
  /** Long tasks still running (outbox replays, log uploads, evidence transfers). */
  progress: ProgressItem[];
}

/** Progress of one long task, for the NOC page's activity strip. */
export interface ProgressItem {
  /** Stable key: one row per task. */
  key: string;
  /** Who does it: an agent id, or `hub`. */
  source: string;
  task: string;
  done: number;
  total: number;
  unit: 'items' | 'bytes' | 'chunks';
  at: string;
}

export type DeltaMessage =
  | { type: 'device'; seq: number; at: string; data: DeviceView }
  | { type: 'ticket'; seq: number; at: string; data: TicketView }
  | { type: 'sla'; seq: number; at: string; data: SlaEvent }
  | { type: 'site-alert'; seq: number; at: string; data: SiteAlert }
  | { type: 'progress'; seq: number; at: string; data: ProgressItem };

export type DeltaType = DeltaMessage['type'];
export type ServerMessage = SnapshotMessage | DeltaMessage;

/** Client -> server. Anything else is ignored and counted. */
export const ClientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('resync') }),
  z.strictObject({ type: z.literal('ping') }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** Largest client frame accepted (client messages are tiny). */
export const MAX_CLIENT_PAYLOAD_BYTES = 4096;
