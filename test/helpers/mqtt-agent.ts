/** A real MQTT.js client acting as an agent (MQTT 3.1.1: aedes does not speak MQTT 5). */
import mqtt, { type MqttClient } from 'mqtt';
import { encodeMessage, type MessageOf } from '../../protocols/messages.ts';
import { type AgentToHubKind, topics } from '../../protocols/topics.ts';

export interface FakeAgent {
  client: MqttClient;
  agentId: string;
  site: string;
  /** Publish a valid message of `kind` on the agent's own topic (QoS 1). */
  send<K extends AgentToHubKind>(kind: K, message: MessageOf<K>, options?: { retain?: boolean }): Promise<void>;
  /** Publish raw bytes on any topic (QoS 1 unless told). */
  raw(topic: string, payload: string | Buffer, qos?: 0 | 1): Promise<void>;
  /** Resolves when the broker (or anything) closes the connection. */
  whenClosed(): Promise<void>;
  close(): Promise<void>;
}

export async function connectAgent(
  url: string,
  options: { agentId: string; site: string; password?: string; clientId?: string; reconnect?: boolean },
): Promise<FakeAgent> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    clientId: options.clientId ?? `${options.agentId}-${Math.random().toString(16).slice(2, 8)}`,
    ...(options.password !== undefined ? { username: options.agentId, password: options.password } : {}),
    reconnectPeriod: options.reconnect === true ? 1000 : 0,
    connectTimeout: 5000,
  });
  client.on('error', () => {});
  const topicFor = (kind: AgentToHubKind, message: Record<string, unknown>): string => {
    const serial =
      (message.serial as string | undefined) ?? (message.identity as { serial?: string } | undefined)?.serial ?? '';
    switch (kind) {
      case 'health':
        return topics.health(options.site, options.agentId, serial);
      case 'event':
        return topics.event(options.site, options.agentId, serial);
      default:
        return topics[kind](options.site, options.agentId);
    }
  };
  return {
    client,
    agentId: options.agentId,
    site: options.site,
    async send(kind, message, opts = {}) {
      const payload = encodeMessage(kind, message);
      await client.publishAsync(topicFor(kind, message as Record<string, unknown>), payload, {
        qos: 1,
        retain: opts.retain ?? false,
      });
    },
    async raw(topic, payload, qos = 1) {
      await client.publishAsync(topic, payload, { qos });
    },
    whenClosed() {
      return new Promise((resolve) => client.once('close', () => resolve()));
    },
    async close() {
      await client.endAsync(true);
    },
  };
}
