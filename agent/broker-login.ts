/**
 * Why an MQTT connection to the hub failed, in words a person can act on, and a one-shot login check
 * (`hezo agent --once` tells an installer whether the agent's credentials work before the service runs).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions } from 'mqtt';
import type { AgentConfig } from '../protocols/agent-config.ts';
import { brokerUrls, redactBrokerUrl } from '../protocols/mqtt-failover.ts';

/** CONNACK return codes of MQTT 3.1.1 (MQTT.js puts them on the error's `code`). */
const CONNACK_REASONS: Record<number, string> = {
  1: 'the broker refused the protocol version',
  2: 'the broker refused the client id',
  3: 'the broker is unavailable',
  4: 'bad username or password (check mqtt.username and mqtt.password / HEZO_MQTT_PASSWORD against the hub agents list)',
  5: 'not authorized (the hub does not know this agent, or its client id is not its own)',
};

export interface LoginFailure {
  /** True when the broker answered and refused the login (credentials, authorization): retrying will not help. */
  isRefusal: boolean;
  reason: string;
  code: number | string | undefined;
}

/** Classify an MQTT.js error: a login refusal (CONNACK code) or a network failure. */
export function describeMqttError(err: Error & { code?: number | string }, hasUsername: boolean): LoginFailure {
  const code = err.code;
  if (typeof code === 'number' && code >= 1 && code <= 5) {
    let reason = CONNACK_REASONS[code] ?? err.message;
    if (code === 4 || code === 5)
      reason = hasUsername ? reason : `${reason}; mqtt.username is not set in the agent config`;
    return { isRefusal: true, reason, code };
  }
  return { isRefusal: false, reason: err.message || String(code ?? 'connection failed'), code };
}

export type LoginCheck = { ok: true } | ({ ok: false } & LoginFailure);

/**
 * Connect once with the agent's credentials (a client id of its own: `<agentId>-check-<random>`, so a running
 * agent is not disconnected), then disconnect. Never publishes anything.
 */
export async function checkBrokerLogin(config: Readonly<AgentConfig>, timeoutMs = 10_000): Promise<LoginCheck> {
  const { mqtt: m } = config;
  const options: IClientOptions = {
    clientId: `${config.agentId}-check-${randomBytes(3).toString('hex')}`,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    writeCache: false, // as the link (mqtt-link.ts): no 6 MB number cache
  };
  if (m.username) options.username = m.username;
  if (m.password) options.password = m.password;
  if (m.caFile) options.ca = readFileSync(m.caFile);
  // The first broker URL answers for the login check (the credentials are the same on every node).
  const url = brokerUrls(m)[0] ?? '';
  const client = mqtt.connect(url, options);
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () =>
        reject(new Error(`connection closed before the login completed (${redactBrokerUrl(url)})`)),
      );
    });
    return { ok: true };
  } catch (err) {
    return { ok: false, ...describeMqttError(err as Error & { code?: number | string }, m.username !== undefined) };
  } finally {
    client.removeAllListeners('error');
    client.on('error', () => {});
    await client.endAsync(true).catch(() => {});
  }
}
