/**
 * The hub's one internal event stream. Producers: ingest, detector, tickets, SLA clocks.
 * Consumers: tickets (auto tickets), websocket stream, InfluxDB writer, notifications, metrics.
 * A listener that throws is logged and never breaks the producer or other listeners.
 */
import { EventEmitter } from 'node:events';
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
  /** A device's view changed (state, lastSeen, firmware): for live dashboards. */
  device: [DeviceView];
  'site-alert': [SiteAlert];
  'agent-presence': [AgentPresenceEvent];
  /** A ticket was created or changed (already committed to SQLite). */
  ticket: [{ ticket: TicketView; change: 'opened' | 'transition' | 'escalated' | 'note' | 'attachment' | 'recovered' }];
  sla: [SlaEvent];
  /** Message rejected at the boundary (for metrics). */
  rejected: [{ reason: string; clientId: string; topic: string }];
}

export type HubEventName = keyof HubEventMap;

export class HubBus {
  private readonly emitter = new EventEmitter({ captureRejections: false });
  private readonly onError: (err: unknown, event: string) => void;

  constructor(onError: (err: unknown, event: string) => void = () => {}) {
    this.onError = onError;
    this.emitter.setMaxListeners(100);
  }

  on<E extends HubEventName>(event: E, listener: (...args: HubEventMap[E]) => void): () => void {
    const safe = (...args: HubEventMap[E]) => {
      try {
        listener(...args);
      } catch (err) {
        this.onError(err, event);
      }
    };
    this.emitter.on(event, safe as (...args: unknown[]) => void);
    return () => this.emitter.off(event, safe as (...args: unknown[]) => void);
  }

  emit<E extends HubEventName>(event: E, ...args: HubEventMap[E]): void {
    this.emitter.emit(event, ...args);
  }
}
