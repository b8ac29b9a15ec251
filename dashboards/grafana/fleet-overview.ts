/** Fleet overview: reachability, probe latency, state changes, current state per device, components, site alerts. */
import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { METRICS } from '../../protocols/metrics-schema.ts';
import { field, from, resetPanelIds, stat, TIME_GROUP, table, tag, timeseries } from './influxql.ts';

export function buildFleetOverview() {
  resetPanelIds();
  const r = METRICS.reachability;
  const h = METRICS.health;
  const s = METRICS.state;
  const a = METRICS.siteAlert;
  return new DashboardBuilder('HEZO+ fleet overview')
    .uid('hezo-fleet')
    .tags(['hezo', 'fleet'])
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .withRow(new RowBuilder('Now'))
    .withPanel(
      stat('Polls in range', `SELECT count(${field(h, 'channels_total')}) FROM ${from(h)} WHERE $timeFilter`, {
        description: 'Health records received in the time range',
      }),
    )
    .withPanel(
      stat('Probes OK (%)', `SELECT mean(${field(r, 'ok')}) * 100 FROM ${from(r)} WHERE $timeFilter`, {
        unit: 'percent',
      }),
    )
    .withPanel(
      stat(
        'Transitions to down',
        `SELECT sum(${field(s, 'transitions')}) FROM ${from(s)} WHERE ${tag(s, 'to_state')} = 'down' AND $timeFilter`,
      ),
    )
    .withPanel(
      stat(
        'Site alerts raised',
        `SELECT sum(${field(a, 'events')}) FROM ${from(a)} WHERE ${tag(a, 'status')} = 'raised' AND $timeFilter`,
      ),
    )
    .withRow(new RowBuilder('Reachability'))
    .withPanel(
      timeseries(
        'Probes OK by channel (%)',
        `SELECT mean(${field(r, 'ok')}) * 100 FROM ${from(r)} WHERE $timeFilter GROUP BY ${TIME_GROUP}, ${tag(r, 'channel')} fill(none)`,
        { unit: 'percent' },
      ),
    )
    .withPanel(
      timeseries(
        'Probe latency by channel',
        `SELECT mean(${field(r, 'latency_ms')}) FROM ${from(r)} WHERE $timeFilter GROUP BY ${TIME_GROUP}, ${tag(r, 'channel')} fill(none)`,
        { unit: 'ms' },
      ),
    )
    .withRow(new RowBuilder('State'))
    .withPanel(
      timeseries(
        'State changes by new state',
        `SELECT sum(${field(s, 'transitions')}) FROM ${from(s)} WHERE $timeFilter GROUP BY ${TIME_GROUP}, ${tag(s, 'to_state')} fill(none)`,
      ),
    )
    .withPanel(
      timeseries(
        'Failed components (max per site)',
        `SELECT max(${field(h, 'components_failed')}) FROM ${from(h)} WHERE $timeFilter GROUP BY ${TIME_GROUP}, ${tag(h, 'site')} fill(none)`,
      ),
    )
    .withPanel(
      table(
        'Last state change per device',
        `SELECT last(${field(s, 'level')}) AS "level", ${tag(s, 'to_state')}, ${tag(s, 'reason')} FROM ${from(s)} WHERE $timeFilter GROUP BY ${tag(s, 'serial')}`,
        { w: 12, description: 'level: 0 unknown, 1 down, 2 degraded, 3 up' },
      ),
    )
    .withPanel(
      timeseries(
        'Temperature (max per site)',
        `SELECT max(${field(h, 'temperature_c')}) FROM ${from(h)} WHERE $timeFilter GROUP BY ${TIME_GROUP}, ${tag(h, 'site')} fill(none)`,
        { unit: 'celsius' },
      ),
    )
    .build();
}
