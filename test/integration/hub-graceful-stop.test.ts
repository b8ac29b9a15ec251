/**
 * Issue 19: a graceful hub stop (every deploy) detaches detection before the broker closes, so the agents'
 * Last Wills are never processed: no device `unknown`, no agent-offline site alert, no note on open tickets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord, makePresence } from '../helpers/health-record.ts';
import { startTestHub } from '../helpers/hub-fixture.ts';
import { nextBusEvent } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('graceful hub stop', () => {
  it('processes no Last Will: nothing unknown, no site alert, no ticket note', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hezo-stop-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const t = await startTestHub({ dataDir, modules: 'all' });
    const will = JSON.stringify(makePresence('offline', { devices: ['SN-1', 'SN-2'] }));
    const client = await mqtt.connectAsync(t.urls.mqttUrl, {
      protocolVersion: 4,
      clientId: 'agent-1-main',
      username: 'agent-1',
      password: 'agent-1-secret',
      reconnectPeriod: 0,
      will: { topic: topics.presence('site-a', 'agent-1'), payload: Buffer.from(will), qos: 1, retain: true },
    });
    client.on('error', () => {});
    cleanups.push(() => void client.end(true));
    const up = nextBusEvent(t.hub.ctx.bus, 'device-state', (tr) => tr.serial === 'SN-1' && tr.to === 'up');
    const down = nextBusEvent(t.hub.ctx.bus, 'ticket', (e) => e.ticket.serial === 'SN-2' && e.change === 'opened');
    await client.publishAsync(topics.presence('site-a', 'agent-1'), JSON.stringify(makePresence('online')), { qos: 1 });
    await client.publishAsync(
      topics.health('site-a', 'agent-1', 'SN-1'),
      JSON.stringify(makeHealthRecord({ serial: 'SN-1' })),
      { qos: 1 },
    );
    for (let i = 0; i < 3; i++) {
      const record = makeHealthRecord({ serial: 'SN-2', seq: i + 1, reachable: false, at: Date.now() + i });
      await client.publishAsync(topics.health('site-a', 'agent-1', 'SN-2'), JSON.stringify(record), { qos: 1 });
    }
    await up;
    await down;
    const seen: string[] = [];
    t.hub.ctx.bus.on('device-state', (tr) => seen.push(`${tr.serial}:${tr.to}`));
    t.hub.ctx.bus.on('site-alert', (a) => seen.push(`alert:${a.status}`));
    t.hub.ctx.bus.on('agent-presence', (p) => seen.push(`presence:${p.status}`));
    await t.close();
    expect(seen).toEqual([]);
    const db = new Database(join(dataDir, 'hezo.sqlite'), { readonly: true });
    cleanups.unshift(() => {
      db.close();
    });
    const unknown = db.prepare("SELECT count(*) AS n FROM device_transitions WHERE to_state = 'unknown'").get() as {
      n: number;
    };
    expect(unknown.n).toBe(0);
    const alerts = db.prepare('SELECT count(*) AS n FROM site_alerts').get() as { n: number };
    expect(alerts.n).toBe(0);
    const notes = db
      .prepare("SELECT note FROM ticket_history WHERE note LIKE '%offline%' OR note LIKE '%unknown%'")
      .all();
    expect(notes).toEqual([]);
  });
});
