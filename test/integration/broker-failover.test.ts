/**
 * Issue 16, brokers: several broker URLs (`mqtt.urls`) for the agent's link and the hub's external client. Two real,
 * independent Mosquittos A and B: when A stops, agent and hub both move to B (with back-off) and carry on; when B
 * stops and A is back, they move back. The first URL being dead at start is no problem either.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HubModuleFactory } from '../../hub/context.ts';
import { startTestHub, type TestHub } from '../helpers/hub-fixture.ts';
import { freePort } from '../helpers/mosquitto.ts';
import { startPersistentMosquitto } from '../helpers/mosquitto-persistent.ts';
import { type OutboxLink, startOutboxLink } from '../helpers/outbox-link.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function counter(into: Set<string>): HubModuleFactory[] {
  return [
    (ctx) => {
      ctx.bus.on('ingest:health', (m) => into.add(`${m.message.identity.serial}#${m.message.seq}`));
      return { name: 'health-counter' };
    },
  ];
}

function startLink(urls: string[]): OutboxLink {
  const link = startOutboxLink(urls);
  cleanups.push(() => link.close());
  return link;
}

async function connectsTo(hub: TestHub, url: string): Promise<number> {
  return hub.metric('hezo_mqtt_external_connects_total', { url });
}

describe('several broker URLs', () => {
  it('agent and hub fail over A -> B -> A and keep delivering', async () => {
    const a = await startPersistentMosquitto();
    cleanups.push(() => a.close());
    const b = await startPersistentMosquitto();
    cleanups.push(() => b.close());
    const counted = new Set<string>();
    const hub = await startTestHub({
      config: {
        mqtt: {
          mode: 'external',
          urls: [a.url, b.url],
          clientId: 'hezo-hub-fo',
          reconnectMinMs: 20,
          reconnectMaxMs: 200,
        },
      },
      modules: counter(counted),
    });
    cleanups.push(() => hub.close());
    const agent = startLink([a.url, b.url]);
    await waitFor(() => agent.link.connected && agent.link.brokerUrl === a.url, { what: 'agent on A' });
    expect(await connectsTo(hub, a.url)).toBe(1);
    agent.append(20);
    await waitFor(() => counted.size === 20, { what: 'records through A' });

    await a.stop('SIGTERM');
    await waitFor(async () => (await connectsTo(hub, b.url)) === 1, { what: 'hub on B' });
    await waitFor(() => agent.link.connected && agent.link.brokerUrl === b.url, { what: 'agent on B' });
    agent.append(20);
    await waitFor(() => counted.size === 40, { what: 'records through B' });

    await a.start();
    await b.stop('SIGTERM');
    await waitFor(async () => (await connectsTo(hub, a.url)) === 2, { what: 'hub back on A' });
    await waitFor(() => agent.link.connected && agent.link.brokerUrl === a.url, { what: 'agent back on A' });
    agent.append(20);
    await waitFor(() => counted.size === 60 && agent.outbox.depth === 0, { what: 'records through A again' });
    expect([...counted].sort()).toEqual([...agent.acked].sort());
  });

  it('a dead first URL at start: both connect to the next one', async () => {
    const dead = `mqtt://127.0.0.1:${await freePort()}`;
    const b = await startPersistentMosquitto();
    cleanups.push(() => b.close());
    const counted = new Set<string>();
    const hub = await startTestHub({
      config: { mqtt: { mode: 'external', urls: [dead, b.url], clientId: 'hezo-hub-fo2', reconnectMinMs: 20 } },
      modules: counter(counted),
    });
    cleanups.push(() => hub.close());
    expect(await connectsTo(hub, b.url)).toBe(1);
    const agent = startLink([dead, b.url]);
    agent.append(5);
    await waitFor(() => counted.size === 5, { what: 'records through the second URL' });
    expect(agent.link.brokerUrl).toBe(b.url);
  });

  it('no broker reachable at start: the hub still starts and connects once one appears', async () => {
    const b = await startPersistentMosquitto();
    cleanups.push(() => b.close());
    await b.stop('SIGTERM');
    const hub = await startTestHub({
      config: {
        node: 'hub-fo3',
        mqtt: { mode: 'external', urls: [b.url], reconnectMinMs: 20, reconnectMaxMs: 100 },
      },
    });
    cleanups.push(() => hub.close());
    expect(await connectsTo(hub, b.url)).toBe(0);
    const health = await hub.api('/healthz', { token: null });
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', node: 'hub-fo3' });
    await b.start();
    await waitFor(async () => (await connectsTo(hub, b.url)) === 1, { what: 'hub connected late' });
    // the default persistent-session client id comes from the node id
    expect(b.log()).toContain('as hezo-hub-hub-fo3');
  });
});
