/**
 * Issue 16, brokers: a three-node NATS cluster with MQTT (JetStream on, sessions replicated on all three nodes) as the
 * clustered broker. Agents and the hub connect through different nodes; one node is killed (SIGKILL) in the middle of
 * a stream of records: agents and the hub continue through the others and every record the cluster acknowledged
 * reaches the detector (counted), including those published while the hub was moving to another node. Commands
 * still reach a moved agent, and retained presence is served by every node.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HubModuleFactory } from '../../hub/context.ts';
import { topics } from '../../protocols/topics.ts';
import { startTestHub } from '../helpers/hub-fixture.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { startNatsCluster } from '../helpers/nats-cluster.ts';
import { startOutboxLink } from '../helpers/outbox-link.ts';
import { waitFor, withDeadline } from '../helpers/wait-for.ts';

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

describe('three-node NATS cluster with MQTT', () => {
  it('one node killed mid-stream: agents and hub continue through the others, nothing acked is lost', async () => {
    const cluster = await startNatsCluster();
    cleanups.push(() => cluster.close());
    const [n1, n2, n3] = cluster.nodes as [
      (typeof cluster.nodes)[0],
      (typeof cluster.nodes)[0],
      (typeof cluster.nodes)[0],
    ];
    const counted = new Set<string>();
    // hub on n1; agent-1 also on n1, agent-2 on n3: the kill of n1 moves the hub and one agent
    const hub = await startTestHub({
      config: {
        mqtt: {
          mode: 'external',
          urls: [n1.mqttUrl, n2.mqttUrl, n3.mqttUrl],
          clientId: 'hezo-hub-nats',
          reconnectMinMs: 50,
          reconnectMaxMs: 500,
        },
      },
      modules: counter(counted),
    });
    cleanups.push(() => hub.close());
    const connectsTo = (url: string) => hub.metric('hezo_mqtt_external_connects_total', { url });
    expect(await connectsTo(n1.mqttUrl)).toBe(1);
    const agent1 = startOutboxLink([n1.mqttUrl, n2.mqttUrl, n3.mqttUrl], { agentId: 'agent-1', site: 'site-a' });
    cleanups.push(() => agent1.close());
    const agent2 = startOutboxLink([n3.mqttUrl, n1.mqttUrl, n2.mqttUrl], { agentId: 'agent-2', site: 'site-b' });
    cleanups.push(() => agent2.close());
    await waitFor(() => agent1.link.connected && agent2.link.connected, { what: 'agents connected' });
    expect(agent1.link.brokerUrl).toBe(n1.mqttUrl);
    expect(agent2.link.brokerUrl).toBe(n3.mqttUrl);

    agent1.append(30, 'SN-N1');
    agent2.append(30, 'SN-N2');
    await waitFor(() => counted.size === 60, { what: 'records before the kill', timeoutMs: 20_000 });

    // kill n1 while both agents have records on the way
    agent1.append(100, 'SN-N1');
    agent2.append(100, 'SN-N2');
    await n1.kill('SIGKILL');
    agent2.append(50, 'SN-N2'); // published through n3 while the hub is moving
    await waitFor(async () => (await connectsTo(n2.mqttUrl)) + (await connectsTo(n3.mqttUrl)) >= 1, {
      what: 'hub on another node',
      timeoutMs: 30_000,
    });
    await waitFor(() => agent1.link.connected && agent1.link.brokerUrl !== n1.mqttUrl, {
      what: 'agent-1 on another node',
      timeoutMs: 30_000,
    });
    agent1.append(50, 'SN-N1');
    await waitFor(() => agent1.outbox.depth === 0 && agent2.outbox.depth === 0, {
      what: 'both outboxes drained',
      timeoutMs: 30_000,
    });
    const acked = [...agent1.acked, ...agent2.acked];
    expect(new Set(acked).size).toBe(360);
    await waitFor(() => acked.every((key) => counted.has(key)), {
      what: `every acked record counted (${acked.filter((k) => !counted.has(k)).length} missing)`,
      timeoutMs: 30_000,
    });
    expect(counted.size).toBe(360);
    expect(await hub.metric('hezo_messages_rejected_total')).toBe(0);

    // commands still reach the moved agent: hub (n2 or n3) -> agent-1 (n2 or n3). While the cluster elects new
    // JetStream leaders, a subscription can be refused for a few seconds (the link then reconnects): retry the send.
    const received: string[] = [];
    agent1.link.on('command', (_topic: string, payload: Buffer) => received.push(payload.toString()));
    let n = 0;
    await waitFor(
      async () => {
        n++;
        await hub.hub.ctx.services.commands
          ?.send(
            { site: 'site-a', agentId: 'agent-1' },
            {
              v: 1,
              id: `cmd-nats-${n}`,
              kind: 'poll-now',
              serial: 'SN-N1',
              issuedAt: new Date().toISOString(),
              timeoutMs: 300,
            },
          )
          .catch(() => undefined);
        return received.length > 0;
      },
      { what: 'a command delivered to agent-1', timeoutMs: 30_000 },
    );
    expect(JSON.parse(received[0] as string)).toMatchObject({ kind: 'poll-now', serial: 'SN-N1' });

    // retained presence (agent-2's `online`, published through n3) is served by a node it was not published on
    const retained = await waitFor(
      async () => {
        const reader = await connectAgent(n2.mqttUrl, { agentId: 'reader', site: 'site-z' });
        try {
          const got = new Promise<{ retain: boolean; body: string }>((resolve) =>
            reader.client.once('message', (_t, p, packet) => resolve({ retain: packet.retain, body: p.toString() })),
          );
          await reader.client.subscribeAsync(topics.presence('site-b', 'agent-2'), { qos: 1 });
          const message = await withDeadline(got, 3000, 'retained presence');
          // agent-2 may have lost its connection while the cluster re-formed (its Last Will, `offline`, is then the
          // retained value until it is back and says `online` again): read until it is back
          return (JSON.parse(message.body) as { status?: string }).status === 'online' ? message : undefined;
        } finally {
          await reader.close();
        }
      },
      { what: "agent-2's retained `online` presence from n2", timeoutMs: 30_000 },
    );
    expect(retained.retain).toBe(true);
    expect(JSON.parse(retained.body)).toMatchObject({ agentId: 'agent-2', status: 'online' });
  }, 180_000);
});
