/**
 * InfluxQL targets and shared panel helpers for the dashboards. The foundation SDK has no InfluxDB module, so a
 * target is our own builder object `{refId, query, rawQuery: true, resultFormat}`. Names come only from
 * protocols/metrics-schema.ts: `field(METRICS.call, 'jitter_ms')` does not compile for a field that is not written.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { LegendDisplayMode, LegendPlacement, VizLegendOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import type { MeasurementSchema } from '../../protocols/metrics-schema.ts';

export const DATASOURCE = { type: 'influxdb', uid: 'hezo-influxdb' } as const;

export type ResultFormat = 'time_series' | 'table';

export interface InfluxQLTarget {
  refId: string;
  query: string;
  rawQuery: true;
  resultFormat: ResultFormat;
  datasource: typeof DATASOURCE;
}

export function influxQL(query: string, refId = 'A', resultFormat: ResultFormat = 'time_series') {
  const target: InfluxQLTarget = { refId, query, rawQuery: true, resultFormat, datasource: DATASOURCE };
  // The SDK types targets as its own Dataquery; ours is a plain object with the fields Grafana reads.
  return { build: () => target } as unknown as cog.Builder<cog.Dataquery>;
}

/** `"measurement"` */
export function from(m: MeasurementSchema): string {
  return `"${m.name}"`;
}

/** `"field"`, checked against the schema. */
export function field<M extends MeasurementSchema>(_m: M, name: keyof M['fields'] & string): string {
  return `"${name}"`;
}

/** `"tag"`, checked against the schema. */
export function tag<M extends MeasurementSchema>(_m: M, name: M['tags'][number]): string {
  return `"${name}"`;
}

let nextId = 1;
/** Panel ids are assigned in creation order; reset per dashboard so the JSON is stable. */
export function resetPanelIds(): void {
  nextId = 1;
}

const legend = () =>
  new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom);

export function timeseries(
  title: string,
  query: string,
  opts: { unit?: string; w?: number; h?: number; description?: string } = {},
) {
  const panel = new TimeseriesPanel()
    .id(nextId++)
    .title(title)
    .datasource(DATASOURCE)
    .withTarget(influxQL(query))
    .legend(legend())
    .span(opts.w ?? 12)
    .height(opts.h ?? 8);
  if (opts.unit !== undefined) panel.unit(opts.unit);
  if (opts.description !== undefined) panel.description(opts.description);
  return panel;
}

export function stat(
  title: string,
  query: string,
  opts: { unit?: string; w?: number; h?: number; description?: string } = {},
) {
  const panel = new StatPanel()
    .id(nextId++)
    .title(title)
    .datasource(DATASOURCE)
    .withTarget(influxQL(query))
    .span(opts.w ?? 6)
    .height(opts.h ?? 4);
  if (opts.unit !== undefined) panel.unit(opts.unit);
  if (opts.description !== undefined) panel.description(opts.description);
  return panel;
}

export function table(title: string, query: string, opts: { w?: number; h?: number; description?: string } = {}) {
  const panel = new TablePanel()
    .id(nextId++)
    .title(title)
    .datasource(DATASOURCE)
    .withTarget(influxQL(query, 'A', 'table'))
    .span(opts.w ?? 24)
    .height(opts.h ?? 8);
  if (opts.description !== undefined) panel.description(opts.description);
  return panel;
}

export const TIME_GROUP = 'time($__interval)';
