/** One device, drill-down by serial (template variable `serial`). */
import {
  DashboardBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { METRICS } from '../../protocols/metrics-schema.ts';
import { DATASOURCE, field, from, resetPanelIds, stat, TIME_GROUP, table, tag, timeseries } from './influxql.ts';

export function buildDevice() {
  resetPanelIds();
  const r = METRICS.reachability;
  const h = METRICS.health;
  const c = METRICS.call;
  const s = METRICS.state;
  /** Every device measurement has the `serial` tag. */
  const bySerial = `${tag(h, 'serial')} =~ /^$serial$/`;
  return new DashboardBuilder('HEZO+ device')
    .uid('hezo-device')
    .tags(['hezo', 'device'])
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .withVariable(
      new QueryVariableBuilder('serial')
        .label('Serial')
        .datasource(DATASOURCE)
        .query(`SHOW TAG VALUES FROM ${from(h)} WITH KEY = ${tag(h, 'serial')}`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc),
    )
    .withRow(new RowBuilder('$serial'))
    .withPanel(
      stat('State (last change)', `SELECT last(${field(s, 'level')}) FROM ${from(s)} WHERE ${bySerial}`, {
        description: '0 unknown, 1 down, 2 degraded, 3 up',
      }),
    )
    .withPanel(
      stat('Uptime', `SELECT last(${field(h, 'uptime_s')}) FROM ${from(h)} WHERE ${bySerial} AND $timeFilter`, {
        unit: 's',
      }),
    )
    .withPanel(
      stat(
        'Channels answering',
        `SELECT last(${field(h, 'channels_ok')}) FROM ${from(h)} WHERE ${bySerial} AND $timeFilter`,
      ),
    )
    .withPanel(
      stat(
        'Temperature',
        `SELECT last(${field(h, 'temperature_c')}) FROM ${from(h)} WHERE ${bySerial} AND $timeFilter`,
        { unit: 'celsius' },
      ),
    )
    .withPanel(
      timeseries(
        'Reachability by channel (1 = answered)',
        `SELECT mean(${field(r, 'ok')}) FROM ${from(r)} WHERE ${bySerial} AND $timeFilter GROUP BY ${TIME_GROUP}, ${tag(r, 'channel')} fill(none)`,
      ),
    )
    .withPanel(
      timeseries(
        'Probe latency by channel',
        `SELECT mean(${field(r, 'latency_ms')}) FROM ${from(r)} WHERE ${bySerial} AND $timeFilter GROUP BY ${TIME_GROUP}, ${tag(r, 'channel')} fill(none)`,
        { unit: 'ms' },
      ),
    )
    .withPanel(
      timeseries(
        'Components',
        `SELECT last(${field(h, 'components_ok')}) AS "ok", last(${field(h, 'components_failed')}) AS "failed", last(${field(h, 'components_disabled')}) AS "disabled", last(${field(h, 'components_unknown')}) AS "unknown" FROM ${from(h)} WHERE ${bySerial} AND $timeFilter GROUP BY ${TIME_GROUP} fill(none)`,
      ),
    )
    .withPanel(
      timeseries(
        'Call quality',
        `SELECT mean(${field(c, 'packet_loss_pct')}) AS "packet loss %", mean(${field(c, 'jitter_ms')}) AS "jitter ms" FROM ${from(c)} WHERE ${bySerial} AND $timeFilter GROUP BY ${TIME_GROUP} fill(none)`,
      ),
    )
    .withPanel(
      table(
        'State history',
        `SELECT ${tag(s, 'from_state')}, ${tag(s, 'to_state')}, ${tag(s, 'reason')}, ${field(s, 'evidence')} FROM ${from(s)} WHERE ${bySerial} AND $timeFilter`,
      ),
    )
    .build();
}
