/**
 * The agent's real publishing path without device polling: an on-disk Outbox and an MqttLink (several broker URLs).
 * `acked` lists every health record the broker acknowledged (PUBACK), as `serial#seq`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { MqttLink } from '../../agent/mqtt-link.ts';
import { Outbox } from '../../agent/outbox.ts';
import { systemClock } from '../../protocols/clock.ts';
import { encodeMessage } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord, makePresence } from './health-record.ts';

export interface OutboxLink {
  link: MqttLink;
  outbox: Outbox;
  acked: string[];
  /** Append `count` health records of `serial` to the outbox and pump. */
  append(count: number, serial?: string): void;
  close(): Promise<void>;
}

export function startOutboxLink(
  urls: string[],
  options: { agentId?: string; site?: string; username?: string; password?: string } = {},
): OutboxLink {
  const agentId = options.agentId ?? 'agent-1';
  const site = options.site ?? 'site-a';
  const dir = mkdtempSync(join(tmpdir(), 'hezo-agent-link-'));
  const outbox = new Outbox(dir, 100_000);
  outbox.open();
  const link = new MqttLink(
    {
      urls,
      clientId: `hezo-agent-${site}-${agentId}`,
      keepaliveS: 10,
      maxInflight: 20,
      presenceTopic: topics.presence(site, agentId),
      commandTopic: topics.commandsFor(site, agentId),
      onlinePayload: () => encodeMessage('presence', makePresence('online', { agentId, site })),
      offlinePayload: () => encodeMessage('presence', makePresence('offline', { agentId, site })),
      reconnectMinMs: 20,
      reconnectMaxMs: 200,
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
    },
    { outbox, logger: pino({ level: process.env.HEZO_TEST_LOG ?? 'silent' }), clock: systemClock },
  );
  const acked: string[] = [];
  link.on('acked', (row: { payload: string }) => {
    const record = JSON.parse(row.payload) as { seq: number; identity: { serial: string } };
    acked.push(`${record.identity.serial}#${record.seq}`);
  });
  link.start();
  return {
    link,
    outbox,
    acked,
    append(count, serial = 'SN-FO') {
      for (let i = 0; i < count; i++) {
        outbox.append([
          {
            kind: 'health',
            topic: topics.health(site, agentId, serial),
            make: (seq) => encodeMessage('health', makeHealthRecord({ agentId, site, serial, seq })),
            seq: true,
          },
        ]);
      }
      link.pump();
    },
    async close() {
      await link.stop();
      outbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
