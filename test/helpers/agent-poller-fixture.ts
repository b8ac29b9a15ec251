/**
 * A DevicePoller for one device, wired like the agent wires it (trust stores, reboot ledger), whose REST or
 * SNMP client a test can replace: the fuzz doors feed device answers straight into the agent's parsing,
 * normalisation and record encoding, without a network in between.
 */

import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { pino } from 'pino';
import { CertTrustStore } from '../../agent/cert-trust.ts';
import { buildAgentConfig } from '../../agent/config.ts';
import { DevicePoller } from '../../agent/device-poller.ts';
import { IdentityStore, RebootLedger } from '../../agent/identity-trust.ts';
import type { RecordContext } from '../../agent/normalise.ts';
import type { PolyRestClient } from '../../protocols/clients/poly-rest.ts';
import { SharedV2cSocket, type SnmpClient } from '../../protocols/clients/snmp.ts';
import { systemClock } from '../../protocols/clock.ts';
import { encodeMessage } from '../../protocols/messages.ts';

export interface PollerFixture {
  poller: DevicePoller;
  ctx: RecordContext;
  events: { type: string; detail: string }[];
  /** Poll once and encode the record the way the agent publishes it (throws if the record is invalid). */
  pollAndEncode(seq: number): Promise<ReturnType<DevicePoller['poll']> extends Promise<infer R> ? R : never>;
  close(): Promise<void>;
}

export async function pollerFixture(
  dataDir: string,
  device: Record<string, unknown>,
  clients: { rest?: PolyRestClient; snmp?: SnmpClient },
): Promise<PollerFixture> {
  // a port that accepts connections: the TCP probe after a REST failure answers at once
  const listener = net.createServer((s) => s.destroy());
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const port = (listener.address() as AddressInfo).port;
  const config = buildAgentConfig({
    version: 1,
    agentId: 'fuzz-agent',
    site: 'fuzz-site',
    customer: 'fuzz',
    mqtt: { url: 'mqtt://127.0.0.1:1' },
    pollIntervalMs: 10_000,
    requestTimeoutMs: 1000,
    retries: 0,
    retryBackoffMs: 0,
    dataDir,
    devices: [{ serial: 'FUZZ0001', address: '127.0.0.1', model: 'StudioX50', ...device }],
  });
  const ledger = new RebootLedger(systemClock);
  const events: PollerFixture['events'] = [];
  const trust = { dataDir, ledger, onChange: () => {}, now: () => new Date().toISOString() };
  const snmpSocket = new SharedV2cSocket();
  const dev = config.devices[0] as (typeof config.devices)[number];
  const rest = dev.rest ? { ...dev.rest, port } : undefined;
  const poller = new DevicePoller(rest ? { ...dev, rest } : dev, {
    config,
    certs: new CertTrustStore(trust),
    hostKeys: new IdentityStore({ ...trust, file: 'known-ssh-host-keys.json', channel: 'ssh' }),
    ledger,
    snmpSocket,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    emitEvent: (_serial, type, detail) => events.push({ type, detail }),
  });
  // the poller creates its clients lazily: hand it ours instead
  const slots = poller as unknown as { rest?: PolyRestClient; snmp?: SnmpClient };
  if (clients.rest) slots.rest = clients.rest;
  if (clients.snmp) slots.snmp = clients.snmp;
  const ctx: RecordContext = {
    agentId: config.agentId,
    site: config.site,
    customer: config.customer,
    pollIntervalMs: 10_000,
  };
  return {
    poller,
    ctx,
    events,
    async pollAndEncode(seq) {
      const draft = await poller.poll(ctx);
      encodeMessage('health', { ...draft, seq, replayed: false });
      return draft;
    },
    async close() {
      snmpSocket.close();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}
