/**
 * Issue 8: the InfluxDB writer against a real influxd 1.x on loopback.
 * - bus events -> points; then EVERY Grafana panel query (from the generated dashboard JSON, with $serial,
 *   $timeFilter and $__interval substituted) returns data;
 * - InfluxDB down: bounded queue + drop counter; catch-up when it returns.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_DIR } from '../../dashboards/grafana/build.ts';
import { createInfluxModule, type InfluxModule } from '../../hub/influx/module.ts';
import type { HealthRecord } from '../../protocols/health.ts';
import { makeFakeHubContext, makeTicket } from '../helpers/fake-hub-context.ts';
import { type InfluxdHandle, startInfluxd } from '../helpers/influxd.ts';
import { waitFor } from '../helpers/wait-for.ts';

let influxd: InfluxdHandle;

beforeAll(async () => {
  influxd = await startInfluxd();
});
afterAll(async () => {
  await influxd?.close();
});

function makeRecord(serial: string, atMs: number, i: number, site = 'waw-hq'): HealthRecord {
  return {
    v: 1,
    agentId: 'agent-1',
    site,
    customer: 'acme',
    seq: i,
    observedAt: new Date(atMs).toISOString(),
    replayed: false,
    pollIntervalMs: 10_000,
    identity: { serial, model: 'StudioX50', firmware: '4.1.0' },
    reachability: {
      rest: { ok: i % 4 !== 0, attempts: 1, latencyMs: 20 + i },
      snmp: { ok: true, attempts: 1, latencyMs: 5 + i },
    },
    components: [
      { kind: 'camera', name: 'Main camera', status: i % 3 === 0 ? 'failed' : 'ok', source: 'rest' },
      { kind: 'microphone', name: 'Mic array', status: 'ok', source: 'rest' },
    ],
    call: { inCall: true, activeCalls: 1, packetLossPct: (i % 5) * 1.5, jitterMs: 10 + i, latencyMs: 80 + i },
    uptimeS: 3600 + i * 10,
    temperatureC: 45 + (i % 7),
    evidence: [],
  };
}

async function startModule(influx: Record<string, unknown>) {
  const fake = makeFakeHubContext({ config: { influx: { url: influxd.url, ...influx } } });
  const module: InfluxModule = createInfluxModule(fake.ctx);
  await module.start?.();
  return { ...fake, module, writer: module.writer! };
}

/** Grafana's macros, as the dashboards use them. */
function substitute(query: string, serial: string): string {
  return query
    .replaceAll('$timeFilter', 'time > now() - 1h')
    .replaceAll('$__interval', '1m')
    .replaceAll(
      '$serial',
      serial.replace(/[.-]/g, (c) => `\\${c}`),
    );
}

interface PanelJson {
  title: string;
  type: string;
  targets?: Array<{ query: string; rawQuery: boolean; refId: string }>;
}

describe('InfluxDB writer + Grafana dashboards', () => {
  it('is a no-op module without config.influx', () => {
    const fake = makeFakeHubContext();
    expect(createInfluxModule(fake.ctx).writer).toBeUndefined();
  });

  it('writes bus events, and every panel query of every generated dashboard returns data', async () => {
    const db = 'hezo_panels';
    const s = await startModule({ database: db, batchSize: 100, flushIntervalMs: 100 });
    const now = Date.now();
    const serials = ['X50-0001', 'X50-0002', 'X30-0003'];
    for (let i = 0; i < 12; i += 1) {
      for (const [k, serial] of serials.entries()) {
        const record = makeRecord(serial, now - (12 - i) * 60_000 + k, i, k === 2 ? 'krk-lab' : 'waw-hq');
        s.bus.emit('health', { record, receivedAt: new Date().toISOString() });
      }
    }
    const transition = (from: 'up' | 'down', to: 'up' | 'down', at: number) =>
      s.bus.emit('device-state', {
        serial: 'X50-0001',
        site: 'waw-hq',
        customer: 'acme',
        agentId: 'agent-1',
        from,
        to,
        at: new Date(at).toISOString(),
        reason: to === 'down' ? 'all-channels-failed' : 'recovered',
        evidence: ['rest: timeout', 'snmp: timeout'],
        inMaintenance: false,
        problems: [],
      });
    transition('up', 'down', now - 30 * 60_000);
    transition('down', 'up', now - 10 * 60_000);
    const openedAt = new Date(now - 20 * 60_000).toISOString();
    const p1 = makeTicket({ id: 'T-1', serial: 'X50-0001', openedAt });
    const p2 = makeTicket({ id: 'T-2', serial: 'X30-0003', priority: 'P2', channel: 'phone', openedAt });
    s.bus.emit('ticket', { ticket: p1, change: 'opened' });
    s.bus.emit('ticket', { ticket: p2, change: 'opened' });
    s.bus.emit('ticket', { ticket: { ...p1, state: 'acknowledged' }, change: 'transition' });
    const sla = (level: 'warning' | 'breach', clock: 'reaction' | 'update') =>
      s.bus.emit('sla', {
        ticketId: 'T-2',
        serial: 'X30-0003',
        priority: 'P2',
        clock,
        level,
        dueAt: new Date(now - 60_000).toISOString(),
        at: new Date(now).toISOString(),
      });
    sla('warning', 'reaction');
    sla('breach', 'reaction');
    s.bus.emit('site-alert', {
      site: 'krk-lab',
      agentId: 'agent-krk',
      status: 'raised',
      at: new Date(now).toISOString(),
      reason: 'agent-offline',
      serials: ['X30-0003'],
    });

    // 36 records x (2 reachability + health + call) + 2 transitions + 3 tickets + 2 sla + 1 site alert
    const expected = 36 * 4 + 2 + 3 + 2 + 1;
    await waitFor(() => s.writer.stats().written === expected, { timeoutMs: 10_000, what: 'all points written' });
    expect(s.writer.stats()).toMatchObject({ dropped: 0, queued: 0 });

    const reaction = await influxd.query(
      db,
      'SELECT "reaction_s", "reaction_target_s", "reaction_met" FROM "ticket_event"',
    );
    const row = reaction.results[0]?.series?.[0]?.values.find((v) => v[1] !== null);
    expect(row?.[2]).toBe(3600);
    expect(row?.[3]).toBe(1);

    const files = readdirSync(JSON_DIR).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(['call-quality.json', 'device.json', 'fleet-overview.json', 'sla-performance.json']);
    let checked = 0;
    const empty: string[] = [];
    for (const file of files) {
      const board = JSON.parse(readFileSync(join(JSON_DIR, file), 'utf8')) as {
        panels: PanelJson[];
        templating?: { list: Array<{ name: string; query: string }> };
      };
      let serial = 'none';
      for (const variable of board.templating?.list ?? []) {
        const result = await influxd.query(db, variable.query);
        const values = result.results[0]?.series?.[0]?.values.map((v) => String(v[1])) ?? [];
        expect(values, `${file}: variable ${variable.name}`).toEqual(expect.arrayContaining(serials));
        if (variable.name === 'serial') serial = 'X50-0001';
      }
      for (const panel of board.panels.filter((p) => p.type !== 'row')) {
        expect(panel.targets?.length, `${file}: ${panel.title} has a target`).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) {
          expect(target.rawQuery).toBe(true);
          const q = substitute(target.query, serial);
          const result = await influxd.query(db, q);
          const first = result.results[0];
          expect(result.error ?? first?.error, `${file}: ${panel.title}: ${q}`).toBeUndefined();
          if ((first?.series?.length ?? 0) === 0) empty.push(`${file}: ${panel.title}: ${q}`);
          checked += 1;
        }
      }
    }
    expect(empty).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(30);
    await s.module.stop?.();
  });

  it('keeps a bounded queue and counts drops while InfluxDB is down, then catches up', async () => {
    const db = 'hezo_outage';
    const s = await startModule({ database: db, batchSize: 50, flushIntervalMs: 50, maxQueue: 100, retryMaxMs: 200 });
    const base = Date.now() - 3_600_000;
    let i = 0;
    const emitRecords = (n: number) => {
      for (let k = 0; k < n; k += 1, i += 1) {
        s.bus.emit('health', { record: makeRecord('X50-0001', base + i * 1000, i), receivedAt: '' });
      }
    };
    emitRecords(5); // 20 points
    await waitFor(() => s.writer.stats().written === 20, { what: 'first points written' });

    await influxd.stop();
    emitRecords(60); // 240 points into a queue of 100
    await waitFor(() => s.writer.stats().failures >= 1, { what: 'a failed write' });
    expect(s.writer.stats().queued).toBeLessThanOrEqual(100);
    expect(s.writer.stats().dropped).toBe(140);
    const dropped = await s.ctx.metrics.getSingleMetricAsString('hezo_influx_points_dropped_total');
    expect(dropped).toMatch(/hezo_influx_points_dropped_total 140/);

    await influxd.start();
    await waitFor(() => s.writer.stats().written === 120, {
      timeoutMs: 10_000,
      what: 'catch-up after InfluxDB returned',
    });
    expect(s.writer.stats()).toMatchObject({ queued: 0, dropped: 140 });
    const counts = await influxd.query(
      db,
      'SELECT count("channels_total") FROM "device_health"; SELECT count("ok") FROM "device_reachability"; SELECT count("in_call") FROM "call_quality"',
    );
    const total = counts.results.reduce((sum, r) => sum + Number(r.series?.[0]?.values[0]?.[1] ?? 0), 0);
    expect(total).toBe(120);
    // The newest points survived: the last record is there.
    const last = await influxd.query(db, 'SELECT last("uptime_s") FROM "device_health"');
    expect(last.results[0]?.series?.[0]?.values[0]?.[1]).toBe(3600 + (i - 1) * 10);
    await s.module.stop?.();
  });
});
