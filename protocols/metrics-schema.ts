/**
 * The InfluxDB 1.x schema of the hub's metrics history: measurement names, tags and typed fields.
 * One source for the writer (hub/influx) and the Grafana dashboards (dashboards/grafana), so a rename
 * cannot leave a panel querying a measurement nobody writes. Documented in dashboards/README.md.
 *
 * Rules: tags are low-cardinality (never a ticket id); a field keeps one type forever; InfluxQL keywords
 * (`from`, `to`, ...) are never used as names.
 */

export type FieldKind = 'float' | 'integer' | 'string' | 'boolean';

export interface MeasurementSchema {
  readonly name: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly fields: Readonly<Record<string, FieldKind>>;
}

const DEVICE_TAGS = ['serial', 'model', 'site', 'customer'] as const;

export const METRICS = {
  /** One point per channel per health record. */
  reachability: {
    name: 'device_reachability',
    description: 'Per poll and channel (rest, snmp, tcp, ssh, usb): did the probe answer, and how fast',
    tags: [...DEVICE_TAGS, 'channel'],
    fields: { ok: 'integer', latency_ms: 'float', attempts: 'integer' },
  },
  /** One point per health record. */
  health: {
    name: 'device_health',
    description: 'Per poll: channels answering, component states counted, uptime and temperature',
    tags: DEVICE_TAGS,
    fields: {
      channels_ok: 'integer',
      channels_total: 'integer',
      components_ok: 'integer',
      components_failed: 'integer',
      components_disabled: 'integer',
      components_unknown: 'integer',
      uptime_s: 'float',
      temperature_c: 'float',
    },
  },
  /** One point per health record that carries call data. */
  call: {
    name: 'call_quality',
    description: 'Per poll: in a call, active calls, packet loss, jitter and latency',
    tags: DEVICE_TAGS,
    fields: {
      in_call: 'integer',
      active_calls: 'integer',
      packet_loss_pct: 'float',
      jitter_ms: 'float',
      latency_ms: 'float',
    },
  },
  /** One point per device state change. */
  state: {
    name: 'device_state',
    description: 'Device state transitions; `level` is the new state as a number (STATE_LEVEL)',
    tags: ['serial', 'site', 'customer', 'from_state', 'to_state', 'reason'],
    fields: { level: 'integer', in_maintenance: 'integer', transitions: 'integer', evidence: 'string' },
  },
  /** One point per ticket change (opened, transition, escalated, note, attachment, recovered). */
  ticket: {
    name: 'ticket_event',
    description: 'Ticket changes; reaction_* only on the first acknowledgement',
    tags: ['priority', 'channel', 'change', 'state', 'coverage', 'site', 'customer'],
    fields: {
      ticket_id: 'string',
      serial: 'string',
      events: 'integer',
      reaction_s: 'float',
      reaction_target_s: 'float',
      reaction_met: 'integer',
    },
  },
  /** One point per SLA clock warning or breach. */
  sla: {
    name: 'sla_event',
    description: 'SLA clock warnings and breaches; lateness_s = event time - due time (negative for warnings)',
    tags: ['priority', 'clock', 'level'],
    fields: { ticket_id: 'string', serial: 'string', events: 'integer', lateness_s: 'float' },
  },
  /** One point per site alert raised or cleared. */
  siteAlert: {
    name: 'site_alert',
    description: 'Site alerts (agent offline) raised and cleared',
    tags: ['site', 'agent_id', 'status'],
    fields: { devices: 'integer', reason: 'string', events: 'integer' },
  },
} as const satisfies Record<string, MeasurementSchema>;

export type MetricKey = keyof typeof METRICS;

/** Device state as a number for graphs (`device_state.level`). */
export const STATE_LEVEL = { unknown: 0, down: 1, degraded: 2, up: 3 } as const;

/** Reachability channels written as `device_reachability.channel`. */
export const REACHABILITY_CHANNELS = ['rest', 'snmp', 'tcp', 'ssh', 'usb'] as const;
