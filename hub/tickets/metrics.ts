/** Prometheus metrics of the tickets module (`GET /metrics`). */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Priority, SlaEvent } from '../types.ts';
import type { TicketStore } from './store.ts';

export interface TicketMetrics {
  countSlaEvent(event: SlaEvent): void;
  countOpened(priority: Priority, channel: string): void;
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

export function createTicketMetrics(registry: Registry, store: TicketStore): TicketMetrics {
  const breaches =
    existing<Counter<'priority' | 'clock'>>(registry, 'hezo_sla_breaches_total') ??
    new Counter({
      name: 'hezo_sla_breaches_total',
      help: 'SLA clocks that ran out (reaction, update, delivery, return)',
      labelNames: ['priority', 'clock'] as const,
      registers: [registry],
    });
  const warnings =
    existing<Counter<'priority' | 'clock'>>(registry, 'hezo_sla_warnings_total') ??
    new Counter({
      name: 'hezo_sla_warnings_total',
      help: 'SLA clocks that reached 75 % of their budget',
      labelNames: ['priority', 'clock'] as const,
      registers: [registry],
    });
  const opened =
    existing<Counter<'priority' | 'channel'>>(registry, 'hezo_tickets_opened_total') ??
    new Counter({
      name: 'hezo_tickets_opened_total',
      help: 'Tickets opened, by priority and channel',
      labelNames: ['priority', 'channel'] as const,
      registers: [registry],
    });
  if (existing(registry, 'hezo_tickets_open') === undefined) {
    new Gauge({
      name: 'hezo_tickets_open',
      help: 'Open tickets (every state but closed/rejected), by priority',
      labelNames: ['priority'] as const,
      registers: [registry],
      async collect() {
        const counts = await store.openCountsByPriority();
        for (const priority of ['P1', 'P2', 'P3'] as const) this.set({ priority }, counts[priority]);
      },
    });
  }
  return {
    countSlaEvent(event) {
      (event.level === 'breach' ? breaches : warnings).inc({ priority: event.priority, clock: event.clock });
    },
    countOpened(priority, channel) {
      opened.inc({ priority, channel });
    },
  };
}
