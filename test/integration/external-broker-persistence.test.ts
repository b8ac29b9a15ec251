/**
 * Issue 16, brokers: `mqtt.mode: external` loses nothing. A real Mosquitto with persistence on (temp dir); the hub
 * connects with a stable persistent-session client id. What agents publish while the hub is away (counted as acked
 * by the broker: PUBACK received) reaches the detector when the hub returns; and a Mosquitto restart in the middle of
 * a stream of records loses nothing the broker acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttLink } from '../../agent/mqtt-link.ts';
import { Outbox } from '../../agent/outbox.ts';
import type { HubModuleFactory } from '../../hub/context.ts';
import { systemClock } from '../../protocols/clock.ts';
import { encodeMessage } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord, makePresence } from '../helpers/health-record.ts';
import { startTestHub } from '../helpers/hub-fixture.ts';
import { startPersistentMosquitto } from '../helpers/mosquitto-persistent.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/**
 * A hub module that records every health record reaching the detector's input (`ingest:health`), as `serial#seq`
 * (duplicates are allowed: at least once). Registered when the hub is created, before its broker connects.
 */
function countHealth(into: Set<string>): HubModuleFactory[] {
  return [
    (ctx) => {
      ctx.bus.on('ingest:health', (m) => {
        into.add(`${m.message.identity.serial}#${m.message.seq}`);
      });
      return { name: 'health-counter' };
    },
  ];
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('external broker: persistent session', () => {
  it('delivers every record acked while the hub was stopped, paced and not dropped, once the hub returns', async () => {
    const broker = await startPersistentMosquitto();
    cleanups.push(() => broker.close());
    const dataDir = tempDir('hezo-hub-ext-');
    const config = {
      mqtt: { mode: 'external', urls: [broker.url], clientId: 'hezo-hub-persist', maxMessagesPerSecond: 100 },
    };
    const counted = new Set<string>();
    let hub = await startTestHub({ config, dataDir, modules: countHealth(counted) });
    const agent = await connectAgent(broker.url, { agentId: 'agent-1', site: 'site-a' });
    cleanups.push(() => agent.close());
    const serials = ['SN-P1', 'SN-P2', 'SN-P3'];
    await agent.send('presence', makePresence('online', { devices: serials }), { retain: true });
    const acked: string[] = [];
    let seq = 0;
    const sendRound = async () => {
      for (const serial of serials) {
        seq++;
        await agent.send('health', makeHealthRecord({ serial, seq, at: Date.now() }));
        acked.push(`${serial}#${seq}`);
      }
    };
    for (let i = 0; i < 5; i++) await sendRound();
    await waitFor(() => counted.size === acked.length, { what: 'live records counted' });

    await hub.close();
    // while no hub listens: every publish below resolved on the broker's PUBACK
    for (let i = 0; i < 100; i++) await sendRound();
    expect(acked.length).toBe(315);

    hub = await startTestHub({ config, dataDir, modules: countHealth(counted) });
    cleanups.push(() => hub.close());
    await waitFor(() => counted.size === acked.length, { what: 'the queued records', timeoutMs: 30_000 });
    expect([...counted].sort()).toEqual([...acked].sort());
    // 300 queued records of one agent at 100/s: held back by the pacer, none dropped
    expect(await hub.metric('hezo_mqtt_external_paced_total')).toBeGreaterThan(0);
    expect(await hub.metric('hezo_messages_rejected_total')).toBe(0);
    const device = (await (await hub.api('/api/devices/SN-P2')).json()) as { state: string };
    expect(device.state).toBe('up');
  });

  it('a Mosquitto restart (persistence on) in the middle of a stream loses no acked record', async () => {
    const broker = await startPersistentMosquitto();
    cleanups.push(() => broker.close());
    const counted = new Set<string>();
    const hub = await startTestHub({
      config: {
        mqtt: {
          mode: 'external',
          urls: [broker.url],
          clientId: 'hezo-hub-race',
          reconnectMinMs: 20,
          reconnectMaxMs: 200,
        },
      },
      modules: countHealth(counted),
    });
    cleanups.push(() => hub.close());

    // The real agent path: records go into the on-disk outbox and leave it only on the broker's PUBACK.
    const outbox = new Outbox(tempDir('hezo-agent-ext-'), 100_000);
    outbox.open();
    cleanups.push(() => outbox.close());
    const link = new MqttLink(
      {
        urls: [broker.url],
        clientId: 'hezo-agent-site-a-agent-1',
        keepaliveS: 10,
        maxInflight: 20,
        presenceTopic: topics.presence('site-a', 'agent-1'),
        commandTopic: topics.commandsFor('site-a', 'agent-1'),
        onlinePayload: () => encodeMessage('presence', makePresence('online')),
        offlinePayload: () => encodeMessage('presence', makePresence('offline')),
        reconnectMinMs: 20,
        reconnectMaxMs: 200,
      },
      { outbox, logger: pino({ level: 'silent' }), clock: systemClock },
    );
    const acked: string[] = [];
    link.on('acked', (row: { topic: string; payload: string }) => {
      const record = JSON.parse(row.payload) as { seq: number; identity: { serial: string } };
      acked.push(`${record.identity.serial}#${record.seq}`);
    });
    link.start();
    cleanups.push(() => link.stop());
    await waitFor(() => link.connected, { what: 'agent connected' });

    const append = (count: number) => {
      for (let i = 0; i < count; i++) {
        const serial = `SN-R${i % 4}`;
        outbox.append([
          {
            kind: 'health',
            topic: topics.health('site-a', 'agent-1', serial),
            make: (seq) => encodeMessage('health', makeHealthRecord({ serial, seq })),
            seq: true,
          },
        ]);
      }
      link.pump();
    };
    append(400);
    // restart while records are on the way (some acked, the rest still queued in the outbox)
    await waitFor(() => acked.length >= 50, { what: 'first acks' });
    await broker.stop('SIGTERM');
    expect(outbox.depth).toBeGreaterThan(0);
    append(100);
    await broker.start();
    await waitFor(() => outbox.depth === 0 && acked.length >= 500, { what: 'the outbox drained', timeoutMs: 30_000 });
    await waitFor(() => acked.every((key) => counted.has(key)), {
      what: 'every acked record counted',
      timeoutMs: 30_000,
    });
    expect(new Set(acked).size).toBe(500);
    expect([...counted].filter((key) => !acked.includes(key))).toEqual([]);
    expect(await hub.metric('hezo_mqtt_external_connects_total')).toBeGreaterThanOrEqual(2);
  });
});
