/** SLA performance: tickets by priority, reaction time vs target, reaction met %, warnings and breaches. */
import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { METRICS } from '../../protocols/metrics-schema.ts';
import { field, from, resetPanelIds, stat, TIME_GROUP, table, tag, timeseries } from './influxql.ts';

export function buildSla() {
  resetPanelIds();
  const t = METRICS.ticket;
  const s = METRICS.sla;
  const opened = `${tag(t, 'change')} = 'opened'`;
  const breach = `${tag(s, 'level')} = 'breach'`;
  return new DashboardBuilder('HEZO+ SLA performance')
    .uid('hezo-sla')
    .tags(['hezo', 'sla'])
    .refresh('1m')
    .time({ from: 'now-7d', to: 'now' })
    .withRow(new RowBuilder('Tickets'))
    .withPanel(
      stat(
        'Tickets opened by priority',
        `SELECT sum(${field(t, 'events')}) FROM ${from(t)} WHERE ${opened} AND $timeFilter GROUP BY ${tag(t, 'priority')}`,
        { w: 8 },
      ),
    )
    .withPanel(
      stat(
        'Reaction within target (%)',
        `SELECT mean(${field(t, 'reaction_met')}) * 100 FROM ${from(t)} WHERE $timeFilter GROUP BY ${tag(t, 'priority')}`,
        { unit: 'percent', w: 8 },
      ),
    )
    .withPanel(
      stat(
        'SLA breaches',
        `SELECT sum(${field(s, 'events')}) FROM ${from(s)} WHERE ${breach} AND $timeFilter GROUP BY ${tag(s, 'clock')}`,
        { w: 8 },
      ),
    )
    .withPanel(
      timeseries(
        'Tickets opened by priority',
        `SELECT sum(${field(t, 'events')}) FROM ${from(t)} WHERE ${opened} AND $timeFilter GROUP BY ${TIME_GROUP}, ${tag(t, 'priority')} fill(none)`,
      ),
    )
    .withPanel(
      timeseries(
        'Tickets opened by channel',
        `SELECT sum(${field(t, 'events')}) FROM ${from(t)} WHERE ${opened} AND $timeFilter GROUP BY ${TIME_GROUP}, ${tag(t, 'channel')} fill(none)`,
      ),
    )
    .withRow(new RowBuilder('Reaction'))
    .withPanel(
      timeseries(
        'Reaction time vs target by priority',
        `SELECT mean(${field(t, 'reaction_s')}) AS "reaction", mean(${field(t, 'reaction_target_s')}) AS "target" FROM ${from(t)} WHERE $timeFilter GROUP BY ${TIME_GROUP}, ${tag(t, 'priority')} fill(none)`,
        {
          unit: 's',
          w: 24,
          description: 'Wall-clock seconds from clock start to first acknowledgement, vs reaction due',
        },
      ),
    )
    .withRow(new RowBuilder('Clocks'))
    .withPanel(
      timeseries(
        'Breaches by clock',
        `SELECT sum(${field(s, 'events')}) FROM ${from(s)} WHERE ${breach} AND $timeFilter GROUP BY ${TIME_GROUP}, ${tag(s, 'clock')} fill(none)`,
      ),
    )
    .withPanel(
      timeseries(
        'Warnings by priority',
        `SELECT sum(${field(s, 'events')}) FROM ${from(s)} WHERE ${tag(s, 'level')} = 'warning' AND $timeFilter GROUP BY ${TIME_GROUP}, ${tag(s, 'priority')} fill(none)`,
      ),
    )
    .withPanel(
      table(
        'Breaches',
        `SELECT ${field(s, 'ticket_id')}, ${field(s, 'serial')}, ${field(s, 'lateness_s')} FROM ${from(s)} WHERE ${breach} AND $timeFilter GROUP BY ${tag(s, 'priority')}, ${tag(s, 'clock')}`,
      ),
    )
    .build();
}
