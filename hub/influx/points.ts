/**
 * Pure mapping of hub bus events to InfluxDB points (schema: protocols/metrics-schema.ts).
 * Timestamps are nanosecond strings. Event measurements (tickets, SLA, site alerts) carry a per-writer
 * sub-millisecond counter so two events at the same millisecond with the same tags do not overwrite each other.
 */
import type { IPoint } from 'influx';
import type { HealthRecord } from '../../protocols/health.ts';
import { METRICS, REACHABILITY_CHANNELS, STATE_LEVEL } from '../../protocols/metrics-schema.ts';
import type { DeviceTransition, SiteAlert, SlaEvent, TicketView } from '../types.ts';

export type Point = IPoint & { timestamp: string };

/** `ms` as a nanosecond timestamp string, `sub` (0..999999) added as nanoseconds. */
export function nanoTime(ms: number, sub = 0): string {
  return `${Math.trunc(ms)}${String(sub % 1_000_000).padStart(6, '0')}`;
}

export function healthPoints(record: HealthRecord): Point[] {
  const timestamp = nanoTime(Date.parse(record.observedAt));
  const tags = {
    serial: record.identity.serial,
    model: record.identity.model,
    site: record.site,
    customer: record.customer,
  };
  const points: Point[] = [];
  let channelsOk = 0;
  let channelsTotal = 0;
  for (const channel of REACHABILITY_CHANNELS) {
    const probe = record.reachability[channel];
    if (probe === undefined) continue;
    channelsTotal += 1;
    if (probe.ok) channelsOk += 1;
    points.push({
      measurement: METRICS.reachability.name,
      tags: { ...tags, channel },
      fields: { ok: probe.ok ? 1 : 0, latency_ms: probe.latencyMs, attempts: probe.attempts },
      timestamp,
    });
  }
  const components = { ok: 0, failed: 0, disabled: 0, unknown: 0 };
  for (const component of record.components) components[component.status] += 1;
  points.push({
    measurement: METRICS.health.name,
    tags,
    fields: {
      channels_ok: channelsOk,
      channels_total: channelsTotal,
      components_ok: components.ok,
      components_failed: components.failed,
      components_disabled: components.disabled,
      components_unknown: components.unknown,
      uptime_s: record.uptimeS,
      temperature_c: record.temperatureC,
    },
    timestamp,
  });
  if (record.call !== undefined) {
    points.push({
      measurement: METRICS.call.name,
      tags,
      fields: {
        in_call: record.call.inCall ? 1 : 0,
        active_calls: record.call.activeCalls,
        packet_loss_pct: record.call.packetLossPct,
        jitter_ms: record.call.jitterMs,
        latency_ms: record.call.latencyMs,
      },
      timestamp,
    });
  }
  return points;
}

export function transitionPoint(t: DeviceTransition): Point {
  return {
    measurement: METRICS.state.name,
    tags: {
      serial: t.serial,
      site: t.site,
      customer: t.customer,
      from_state: t.from,
      to_state: t.to,
      reason: t.reason,
    },
    fields: {
      level: STATE_LEVEL[t.to],
      in_maintenance: t.inMaintenance ? 1 : 0,
      transitions: 1,
      evidence: t.evidence.join('; ').slice(0, 1000),
    },
    timestamp: nanoTime(Date.parse(t.at)),
  };
}

/**
 * A ticket change at `atMs` (hub clock). On the change to `acknowledged`, records the reaction time from the
 * clock start against the target (wall-clock seconds; the business-hours arithmetic is the tickets module's).
 */
export function ticketPoint(ticket: TicketView, change: string, atMs: number, sub: number): Point {
  const fields: Record<string, number | string | undefined> = {
    ticket_id: ticket.id,
    serial: ticket.serial,
    events: 1,
  };
  const { clockStart, reactionDue } = ticket.sla;
  if (change === 'transition' && ticket.state === 'acknowledged' && clockStart !== null && reactionDue !== null) {
    const startMs = Date.parse(clockStart);
    const dueMs = Date.parse(reactionDue);
    fields.reaction_s = Math.max(0, (atMs - startMs) / 1000);
    fields.reaction_target_s = (dueMs - startMs) / 1000;
    fields.reaction_met = atMs <= dueMs ? 1 : 0;
  }
  return {
    measurement: METRICS.ticket.name,
    tags: {
      priority: ticket.priority,
      channel: ticket.channel,
      change,
      state: ticket.state,
      coverage: ticket.coverage,
      site: ticket.site ?? 'unknown',
      customer: ticket.customer ?? 'unknown',
    },
    fields,
    timestamp: nanoTime(atMs, sub),
  };
}

export function slaPoint(event: SlaEvent, sub: number): Point {
  const atMs = Date.parse(event.at);
  return {
    measurement: METRICS.sla.name,
    tags: { priority: event.priority, clock: event.clock, level: event.level },
    fields: {
      ticket_id: event.ticketId,
      serial: event.serial,
      events: 1,
      lateness_s: (atMs - Date.parse(event.dueAt)) / 1000,
    },
    timestamp: nanoTime(atMs, sub),
  };
}

export function siteAlertPoint(alert: SiteAlert, sub: number): Point {
  return {
    measurement: METRICS.siteAlert.name,
    tags: { site: alert.site, agent_id: alert.agentId, status: alert.status },
    fields: { devices: alert.serials.length, reason: alert.reason, events: 1 },
    timestamp: nanoTime(Date.parse(alert.at), sub),
  };
}
