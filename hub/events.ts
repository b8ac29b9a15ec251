/**
 * The hub's one internal event stream. Producers: ingest, detector, tickets, SLA clocks.
 * Consumers: tickets (auto tickets), websocket stream, InfluxDB writer, notifications, metrics.
 * A listener that throws is logged and never breaks the producer or other listeners.
 */
import type { AttachmentChunk, DeviceEvent, Heartbeat, Presence } from '../protocols/messages.ts';
import type { DeviceWatch } from './rules/watch-store.ts';
import type {
  AgentPresenceEvent,
  DeviceTransition,
  DeviceView,
  HealthRecord,
  SiteAlert,
  SlaEvent,
  TicketView,
} from './types.ts';

export interface HubEventMap {
  /** A validated health record (live or replayed) after it reached the detector. */
  health: [{ record: HealthRecord; receivedAt: string }];
  /** A device state change, stored before it is emitted. */
  'device-state': [DeviceTransition];
  /**
   * A device's view changed (state, reason, problems, firmware, agent, maintenance, contract): for live dashboards.
   * lastSeen alone is refreshed at most every LAST_SEEN_REFRESH_MS (30 s) per device (hub/outage/module.ts).
   */
  device: [DeviceView];
  'site-alert': [SiteAlert];
  /** Another hub node's site alert, taken from the shared store: for live views only (no ticket, no incident). */
  'site-alert-followed': [SiteAlert];
  /** A trend rule raised or cleared a watch on a device (hub/rules). */
  'device-watch': [DeviceWatch];
  'agent-presence': [AgentPresenceEvent];
  /** A ticket was created or changed by this node (already committed to the store). */
  ticket: [{ ticket: TicketView; change: 'opened' | 'transition' | 'escalated' | 'note' | 'attachment' | 'recovered' }];
  sla: [SlaEvent];
  /** A ticket changed by ANOTHER hub node (change feed): for views only (stream, pages), never for duties. */
  'ticket-elsewhere': [{ ticket: TicketView }];
  /** Message rejected at the boundary (for metrics). */
  rejected: [{ reason: string; clientId: string; topic: string }];

  // --- Inbound, validated agent messages (producer: hub/ingest; consumer: detector, commands, evidence) ---
  /** A schema-valid health record whose identity checks passed; the detector decides live vs history. */
  'ingest:health': [InboundMessage<HealthRecord>];
  'ingest:event': [InboundMessage<DeviceEvent>];
  'ingest:presence': [InboundMessage<Presence>];
  /** Heartbeats also carry outbox depth and task progress (for the NOC page). */
  'ingest:heartbeat': [InboundMessage<Heartbeat>];
  /** One attachment chunk from an agent (the evidence module stores and reassembles them). */
  'attachment-chunk': [InboundMessage<AttachmentChunk>];
  /** Progress of a long attachment transfer (evidence module, about every 10 %), for the NOC page. */
  'attachment-progress': [AttachmentProgress];
}

/** How far one attachment transfer has come (producer: hub/evidence). */
export interface AttachmentProgress {
  ticketId: string;
  serial: string;
  transferId: string;
  name: string;
  receivedBytes: number;
  size: number;
  percent: number;
}

/** A validated message with where it came from. `receivedAtMs` is the hub clock at arrival. */
export interface InboundMessage<T> {
  message: T;
  site: string;
  agentId: string;
  /** MQTT client id (embedded broker) or `external` (external broker: identity = topic, enforced by its ACL). */
  clientId: string;
  receivedAtMs: number;
  /**
   * Agent clock offset (agent minus hub, ms; hub/ingest/agent-clocks.ts). Health records and events: the
   * correction applied (hub time = agent time - clockOffsetMs; undefined = none). Heartbeats: the measured offset.
   */
  clockOffsetMs?: number | undefined;
  /** The validated payload's JSON text (health records only), so it is never serialised again for storage. */
  json?: string | undefined;
  /** The same text as UTF-8 bytes (the MQTT payload; read during the event only, never kept). */
  bytes?: Buffer | undefined;
}

export type HubEventName = keyof HubEventMap;

export class HubBus {
  /**
   * Listeners per event, copy-on-write: `on`/`off` replace the array, so an emit goes over the list as it was
   * when it started (as EventEmitter's clone does) without cloning it on every emit (the hot path emits a few
   * events per health record).
   */
  private readonly listeners = new Map<HubEventName, ReadonlyArray<(arg: unknown) => void>>();
  private readonly onError: (err: unknown, event: string) => void;

  constructor(onError: (err: unknown, event: string) => void = () => {}) {
    this.onError = onError;
  }

  on<E extends HubEventName>(event: E, listener: (...args: HubEventMap[E]) => void): () => void {
    // Every event carries exactly one argument (HubEventMap).
    const entry = listener as unknown as (arg: unknown) => void;
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), entry]);
    let isOn = true;
    return () => {
      if (!isOn) return;
      isOn = false;
      const list = this.listeners.get(event) ?? [];
      const at = list.lastIndexOf(entry);
      if (at < 0) return;
      const rest = [...list.slice(0, at), ...list.slice(at + 1)];
      if (rest.length > 0) this.listeners.set(event, rest);
      else this.listeners.delete(event);
    };
  }

  emit<E extends HubEventName>(event: E, ...args: HubEventMap[E]): void;
  emit(event: HubEventName, arg: unknown): void {
    const list = this.listeners.get(event);
    if (list === undefined) return;
    for (const listener of list) {
      try {
        listener(arg);
      } catch (err) {
        this.onError(err, event);
      }
    }
  }
}
