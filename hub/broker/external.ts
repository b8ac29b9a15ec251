/**
 * `mqtt.mode: external`: the hub connects as a client of an external broker and subscribes to everything agents
 * publish. That broker does the authentication and must enforce the per-agent ACL (e.g. Mosquitto
 * `pattern write hezo/v1/+/%u/#`, `pattern read hezo/v1/+/%u/cmd`). The hub cannot see which client published,
 * so identity is the topic's agent, checked against `agents[]` (its site) when the agent is registered there.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { topics } from '../../protocols/topics.ts';
import type { HubConfig } from '../config.ts';
import type { MessageSource } from '../ingest/ingest.ts';
import type { MqttTransport, TransportUrls } from './transport.ts';

export interface ExternalBrokerDeps {
  config: Readonly<HubConfig>;
  logger: Logger;
  onMessage(topic: string, payload: Buffer, source: MessageSource): void;
}

export class ExternalBroker implements MqttTransport {
  private readonly deps: ExternalBrokerDeps;
  private readonly log: Logger;
  private client: MqttClient | undefined;

  constructor(deps: ExternalBrokerDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ component: 'broker-client' });
  }

  async start(): Promise<TransportUrls> {
    const { mqtt: settings } = this.deps.config;
    const url = settings.url ?? `mqtt://${settings.host}:${settings.port}`;
    const client = await mqtt.connectAsync(url, {
      clientId: `hezo-hub-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(settings.username !== undefined ? { username: settings.username } : {}),
      ...(settings.password !== undefined ? { password: settings.password } : {}),
    });
    this.client = client;
    client.on('message', (topic, payload) => {
      this.deps.onMessage(topic, payload, { clientId: 'external', identity: undefined });
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'external broker error'));
    client.on('offline', () => this.log.warn({ url: redactUrl(url) }, 'external broker unreachable'));
    client.on('connect', () => this.log.info({ url: redactUrl(url) }, 'external broker connected'));
    const granted = await client.subscribeAsync(
      Object.fromEntries(topics.allFromAgents().map((topic) => [topic, { qos: 1 as const }])),
    );
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length > 0) this.log.error({ refused }, 'external broker refused subscriptions');
    this.log.info({ url: redactUrl(url) }, 'subscribed to agents on the external broker');
    return { mqttUrl: redactUrl(url) };
  }

  async publish(topic: string, payload: string): Promise<void> {
    const client = this.client;
    if (client === undefined) throw new Error('external broker client not started');
    await client.publishAsync(topic, payload, { qos: 1, retain: false });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await client.endAsync();
  }
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'invalid-url';
  }
}
