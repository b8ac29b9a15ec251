/** Call quality: packet loss, jitter and latency in calls, devices in a call, worst devices. */
import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { METRICS } from '../../protocols/metrics-schema.ts';
import { field, from, resetPanelIds, stat, TIME_GROUP, table, tag, timeseries } from './influxql.ts';

export function buildCallQuality() {
  resetPanelIds();
  const c = METRICS.call;
  const inCall = `${field(c, 'in_call')} = 1`;
  return new DashboardBuilder('HEZO+ call quality')
    .uid('hezo-call-quality')
    .tags(['hezo', 'calls'])
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .withRow(new RowBuilder('Calls'))
    .withPanel(
      stat(
        'Devices in a call (last poll)',
        `SELECT sum("in_call") FROM (SELECT last(${field(c, 'in_call')}) AS "in_call" FROM ${from(c)} WHERE $timeFilter GROUP BY ${tag(c, 'serial')})`,
        { w: 8 },
      ),
    )
    .withPanel(
      stat(
        'Mean packet loss in calls',
        `SELECT mean(${field(c, 'packet_loss_pct')}) FROM ${from(c)} WHERE ${inCall} AND $timeFilter`,
        { unit: 'percent', w: 8 },
      ),
    )
    .withPanel(
      stat(
        'Mean jitter in calls',
        `SELECT mean(${field(c, 'jitter_ms')}) FROM ${from(c)} WHERE ${inCall} AND $timeFilter`,
        {
          unit: 'ms',
          w: 8,
        },
      ),
    )
    .withPanel(
      timeseries(
        'Packet loss by device',
        `SELECT mean(${field(c, 'packet_loss_pct')}) FROM ${from(c)} WHERE ${inCall} AND $timeFilter GROUP BY ${TIME_GROUP}, ${tag(c, 'serial')} fill(none)`,
        { unit: 'percent' },
      ),
    )
    .withPanel(
      timeseries(
        'Jitter by device',
        `SELECT mean(${field(c, 'jitter_ms')}) FROM ${from(c)} WHERE ${inCall} AND $timeFilter GROUP BY ${TIME_GROUP}, ${tag(c, 'serial')} fill(none)`,
        { unit: 'ms' },
      ),
    )
    .withPanel(
      timeseries(
        'Call latency by site',
        `SELECT mean(${field(c, 'latency_ms')}) FROM ${from(c)} WHERE ${inCall} AND $timeFilter GROUP BY ${TIME_GROUP}, ${tag(c, 'site')} fill(none)`,
        { unit: 'ms' },
      ),
    )
    .withPanel(
      table(
        'Worst packet loss per device',
        `SELECT max(${field(c, 'packet_loss_pct')}) AS "max loss %", max(${field(c, 'jitter_ms')}) AS "max jitter ms" FROM ${from(c)} WHERE ${inCall} AND $timeFilter GROUP BY ${tag(c, 'serial')}, ${tag(c, 'site')}`,
        { w: 12 },
      ),
    )
    .build();
}
