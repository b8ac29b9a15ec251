/**
 * `mqtt.mode: external`: the hub connects as a client of an external broker (Mosquitto, a NATS cluster with MQTT,
 * EMQX, HiveMQ) and subscribes to everything agents publish.
 *
 * - Nothing is lost while the hub is away: a stable client id (`mqtt.clientId`, default `hezo-hub-<node>`) with a
 *   persistent session (`clean: false`) and QoS 1 subscriptions, so the broker queues what agents publish and
 *   delivers it when the hub returns.
 * - Each message goes through ingest (and so the detector) BEFORE its PUBACK is sent (MQTT.js `handleMessage`),
 *   so a message the broker saw acknowledged was counted; a hub that dies first gets it again (at least once).
 * - Several broker URLs (`mqtt.urls`): each connection is a fresh client (MQTT.js reconnects off); on a failure the
 *   next URL is tried with back-off (protocols/mqtt-failover.ts).
 * - The per-agent rate cap delays instead of dropping (agent-pacer.ts).
 *
 * The broker does the authentication and must enforce the per-agent ACL (`hezo broker-acl`). The hub cannot see
 * which client published, so identity is the topic's agent, checked against `agents[]` (its site) when registered.
 */
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../../protocols/clock.ts';
import { BrokerFailover, brokerUrls, redactBrokerUrl } from '../../protocols/mqtt-failover.ts';
import { topics } from '../../protocols/topics.ts';
import type { HubConfig } from '../config.ts';
import type { MessageSource } from '../ingest/ingest.ts';
import { hubNodeId } from '../node-id.ts';
import { AgentPacer } from './agent-pacer.ts';
import type { MqttTransport, TransportUrls } from './transport.ts';

export interface ExternalBrokerDeps {
  config: Readonly<HubConfig>;
  logger: Logger;
  clock: Clock;
  metrics: Registry;
  onMessage(topic: string, payload: Buffer, source: MessageSource): void;
  /** Topic filters (default: everything agents publish). A cluster node with partition sessions: replies only. */
  subscriptions?: readonly string[];
  /** Persistent session (default true); false = `clean: true`, which also drops an earlier persistent session. */
  isSessionKept?: boolean;
}

const SOURCE: MessageSource = { clientId: 'external', identity: undefined, isPaced: true };

/** The default persistent-session client id of a hub node. */
export function externalClientId(config: Readonly<HubConfig>): string {
  return config.mqtt.clientId ?? `hezo-hub-${hubNodeId(config)}`.slice(0, 64);
}

export class ExternalBroker implements MqttTransport {
  private readonly deps: ExternalBrokerDeps;
  private readonly log: Logger;
  private readonly pacer: AgentPacer;
  private readonly connects: Counter<'url'>;
  private readonly paced: Counter;
  private failover: BrokerFailover | undefined;
  private client: MqttClient | undefined;
  private isConnectedNow = false;
  private generation = 0;
  private isStopping = false;
  private cancelRetry: (() => void) | undefined;
  private cancelPacing: (() => void) | undefined;
  private onFirstRound: (() => void) | undefined;

  constructor(deps: ExternalBrokerDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ component: 'broker-client' });
    this.pacer = new AgentPacer(deps.config.mqtt.maxMessagesPerSecond, deps.clock);
    this.connects = new Counter({
      name: 'hezo_mqtt_external_connects_total',
      help: 'Connections made to the external broker, by URL (credentials removed)',
      labelNames: ['url'],
      registers: [deps.metrics],
    });
    this.paced = new Counter({
      name: 'hezo_mqtt_external_paced_total',
      help: 'Messages from the external broker held back (not dropped) by the per-agent rate cap',
      registers: [deps.metrics],
    });
  }

  get connected(): boolean {
    return this.isConnectedNow;
  }

  /** Resolves once subscribed, or once every URL failed once (the hub then runs and keeps retrying). */
  async start(): Promise<TransportUrls> {
    const { mqtt: settings } = this.deps.config;
    const urls = brokerUrls(settings);
    if (urls.length === 0) urls.push(`mqtt://${settings.host}:${settings.port}`);
    this.failover = new BrokerFailover({ urls, minMs: settings.reconnectMinMs, maxMs: settings.reconnectMaxMs });
    this.isStopping = false;
    const firstRound = new Promise<void>((resolve) => {
      this.onFirstRound = resolve;
    });
    this.connect(this.failover.current);
    await firstRound;
    return { mqttUrl: redactBrokerUrl(urls[0] as string) };
  }

  private connect(url: string): void {
    const { mqtt: settings } = this.deps.config;
    const gen = ++this.generation;
    const client = mqtt.connect(url, {
      clientId: externalClientId(this.deps.config),
      protocolVersion: 4,
      clean: this.deps.isSessionKept === false,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      resubscribe: false,
      ...(settings.username !== undefined ? { username: settings.username } : {}),
      ...(settings.password !== undefined ? { password: settings.password } : {}),
    });
    this.client = client;
    // Set before the CONNACK: a persistent session's queue arrives right after it.
    client.handleMessage = (packet, done) => this.deliver(packet, done, gen);
    client.on('connect', (connack) => {
      if (gen !== this.generation) return;
      this.onConnect(client, url, connack.sessionPresent, gen).catch((err: unknown) => {
        this.log.error({ err: (err as Error).message, url: redactBrokerUrl(url) }, 'external broker subscribe failed');
        client.end(true);
      });
    });
    client.on('error', (err) => this.log.debug({ err: err.message }, 'external broker error'));
    client.on('close', () => {
      if (gen === this.generation) this.onClose(client, url);
    });
  }

  private async onConnect(client: MqttClient, url: string, isSessionPresent: boolean, gen: number): Promise<void> {
    // Subscribe on every connect: a broker that lost the session (or a new cluster node) needs it again.
    const granted = await client.subscribeAsync(
      Object.fromEntries(
        (this.deps.subscriptions ?? topics.allFromAgents()).map((topic) => [topic, { qos: 1 as const }]),
      ),
    );
    if (gen !== this.generation) return;
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    // Not subscribed = not listening: reconnect (with back-off) rather than run deaf.
    if (refused.length > 0) throw new Error(`refused subscriptions: ${refused.join(', ')}`);
    this.isConnectedNow = true;
    this.failover?.connected();
    this.connects.labels(redactBrokerUrl(url)).inc();
    this.log.info({ url: redactBrokerUrl(url), isSessionPresent }, 'external broker connected');
    this.finishFirstRound();
  }

  private onClose(client: MqttClient, url: string): void {
    this.generation++;
    const wasConnected = this.isConnectedNow;
    this.isConnectedNow = false;
    this.cancelPacing?.();
    this.cancelPacing = undefined;
    client.removeAllListeners('connect');
    client.end(true);
    if (this.isStopping || this.failover === undefined) return;
    if (wasConnected) this.log.warn({ url: redactBrokerUrl(url) }, 'external broker connection lost');
    const next = this.failover.fail();
    if (this.failover.hasTriedAll && this.onFirstRound !== undefined) {
      this.log.error({ failures: this.failover.failures }, 'no external broker reachable yet; retrying');
      this.finishFirstRound();
    }
    this.cancelRetry = this.deps.clock.setTimer(next.delayMs, () => {
      this.cancelRetry = undefined;
      if (!this.isStopping) this.connect(next.url);
    });
  }

  private finishFirstRound(): void {
    const resolve = this.onFirstRound;
    this.onFirstRound = undefined;
    resolve?.();
  }

  /** Into ingest, then `done` (which sends the PUBACK and lets MQTT.js read the next packet). */
  private deliver(packet: IPublishPacket, done: (err?: Error) => void, gen: number): void {
    const agentKey = packet.topic.split('/', 4)[3] ?? '';
    const waitMs = this.pacer.delayFor(agentKey);
    if (waitMs > 0) {
      this.paced.inc();
      this.cancelPacing = this.deps.clock.setTimer(waitMs, () => {
        this.cancelPacing = undefined;
        // a closed connection never acknowledges: the broker delivers the message again
        if (gen === this.generation) this.deliver(packet, done, gen);
      });
      return;
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    this.deps.onMessage(packet.topic, payload, SOURCE);
    done();
  }

  async publish(topic: string, payload: string): Promise<void> {
    const client = this.client;
    if (client === undefined || !this.isConnectedNow) throw new Error('external broker not connected');
    await client.publishAsync(topic, payload, { qos: 1, retain: false });
  }

  /** Disconnect cleanly: the broker keeps the session (and queues for it) until this client id returns. */
  async stop(): Promise<void> {
    this.isStopping = true;
    this.cancelRetry?.();
    this.cancelPacing?.();
    this.finishFirstRound();
    const client = this.client;
    this.client = undefined;
    this.generation++;
    this.isConnectedNow = false;
    if (client !== undefined) await client.endAsync();
  }
}
