/**
 * The MQTT session of one partition (issue 16): the node holding partition k connects with the persistent-session
 * client id of that partition (`clean: false`, QoS 1), subscribed to what the agents of the partition's sites
 * publish. The broker keeps queuing for that client id while no node holds k, and delivers to the next holder; a
 * second connection with the same id takes the session over from a stale one (the broker closes the old one).
 *
 * Each message goes to `onMessage` BEFORE its PUBACK (as hub/broker/external.ts does): a holder that dies first
 * gets it redelivered to the next holder. The session does not reconnect by itself: on an unexpected close it emits
 * `closed`, and its owner reconnects only while it still holds the partition (else two stale holders would take
 * the session from each other in turn).
 */
import { EventEmitter } from 'node:events';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import { redactBrokerUrl } from '../../protocols/mqtt-failover.ts';
import { topics } from '../../protocols/topics.ts';
import type { AgentPacer } from '../broker/agent-pacer.ts';

/** The client id every node uses for partition k: the same on every node, so the broker sees one session. */
export function partitionClientId(partition: number, prefix = 'hezo-partition'): string {
  return `${prefix}-${partition}`;
}

export interface PartitionSessionOptions {
  partition: number;
  /** The sites of this partition (sitesOfPartition). */
  sites: readonly string[];
  /** Broker URLs, tried in order. */
  urls: readonly string[];
  clientId?: string;
  username?: string;
  password?: string;
  connectTimeoutMs?: number;
  logger: Logger;
  /**
   * Called before the PUBACK; must not throw (bad input is the consumer's to count and drop). Returning `false`
   * refuses the message (this node no longer holds the partition): it is NOT acknowledged and the connection is
   * closed, so the broker delivers it again to the session's next holder.
   */
  onMessage(topic: string, payload: Buffer): boolean | undefined;
  /**
   * The per-agent rate cap that delays instead of dropping (hub/broker/agent-pacer.ts, shared by a node's sessions):
   * a message over the cap waits, and its PUBACK with it, so the broker holds the rest (QoS 1 flow control).
   */
  pacing?: { pacer: Pick<AgentPacer, 'delayFor'>; clock: Clock; onPaced?(): void };
}

export interface PartitionSessionEvents {
  /** The connection ended without stop(): broker gone, network, or another holder took the session over. */
  closed: [];
}

export class PartitionSession extends EventEmitter<PartitionSessionEvents> {
  readonly partition: number;
  readonly clientId: string;
  private readonly opts: PartitionSessionOptions;
  private readonly log: Logger;
  private client: MqttClient | undefined;
  private isStopping = false;
  private cancelPacing: (() => void) | undefined;
  private sites: readonly string[];

  constructor(opts: PartitionSessionOptions) {
    super();
    this.opts = opts;
    this.partition = opts.partition;
    this.clientId = opts.clientId ?? partitionClientId(opts.partition);
    this.sites = [...opts.sites];
    this.log = opts.logger.child({ component: 'partition-session', partition: opts.partition });
  }

  get isConnected(): boolean {
    return this.client?.connected === true;
  }

  /** Connect (first URL that answers) and subscribe; `isSessionPresent`: the broker kept this partition's session. */
  async start(): Promise<{ url: string; isSessionPresent: boolean }> {
    this.isStopping = false;
    const errors: string[] = [];
    for (const url of this.opts.urls) {
      try {
        return await this.connect(url);
      } catch (err) {
        errors.push(`${redactBrokerUrl(url)}: ${(err as Error).message}`);
      }
    }
    throw new Error(`partition ${this.partition}: no broker reachable (${errors.join('; ')})`);
  }

  private connect(url: string): Promise<{ url: string; isSessionPresent: boolean }> {
    const client = mqtt.connect(url, {
      clientId: this.clientId,
      protocolVersion: 4,
      clean: false,
      reconnectPeriod: 0,
      resubscribe: false,
      connectTimeout: this.opts.connectTimeoutMs ?? 10_000,
      ...(this.opts.username !== undefined ? { username: this.opts.username } : {}),
      ...(this.opts.password !== undefined ? { password: this.opts.password } : {}),
    });
    // set before the CONNACK: the queue of a persistent session arrives right after it
    client.handleMessage = (packet: IPublishPacket, done) => this.deliver(client, packet, done);
    return new Promise((resolve, reject) => {
      let isSettled = false;
      client.once('connect', (connack) => {
        this.subscribe(client).then(
          () => {
            isSettled = true;
            this.client = client;
            client.on('close', () => this.onClose(client));
            this.log.info(
              { url: redactBrokerUrl(url), isSessionPresent: connack.sessionPresent },
              'partition session up',
            );
            resolve({ url: redactBrokerUrl(url), isSessionPresent: connack.sessionPresent });
          },
          (err: unknown) => {
            client.end(true);
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
      });
      client.on('error', (err) => {
        if (!isSettled) {
          client.end(true);
          reject(err);
        }
      });
      client.once('close', () => {
        if (!isSettled) reject(new Error('connection closed before the session was up'));
      });
    });
  }

  /** Into `onMessage` (after the pacer lets it in), then the PUBACK; a refused message closes the connection. */
  private deliver(client: MqttClient, packet: IPublishPacket, done: (err?: Error) => void): void {
    const pacing = this.opts.pacing;
    const waitMs = pacing?.pacer.delayFor(packet.topic.split('/', 4)[3] ?? '') ?? 0;
    if (pacing !== undefined && waitMs > 0) {
      pacing.onPaced?.();
      this.cancelPacing = pacing.clock.setTimer(waitMs, () => {
        this.cancelPacing = undefined;
        // a closed connection never acknowledges: the broker delivers the message again
        if (client.connected && !this.isStopping) this.deliver(client, packet, done);
      });
      return;
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (this.opts.onMessage(packet.topic, payload) === false) {
      // no PUBACK: the session keeps the message for the next holder
      this.log.info({ topic: packet.topic }, 'partition session: message refused (partition not held); closing');
      this.isStopping = true;
      client.end(true);
      return;
    }
    done();
  }

  /**
   * The partition's sites changed (a site added to or removed from the registry): subscribe to the new ones and
   * drop the old ones now; a reconnect subscribes to the current list.
   */
  async setSites(sites: readonly string[]): Promise<void> {
    const before = new Set(this.sites);
    const after = new Set(sites);
    this.sites = [...after];
    const client = this.client;
    if (client === undefined) return;
    const removed = [...before].filter((s) => !after.has(s)).flatMap((s) => topics.fromAgentsOfSite(s));
    if (removed.length > 0) await client.unsubscribeAsync(removed);
    await this.subscribe(
      client,
      [...after].filter((s) => !before.has(s)),
    );
  }

  private async subscribe(client: MqttClient, sites: readonly string[] = this.sites): Promise<void> {
    const filters = sites.flatMap((site) => topics.fromAgentsOfSite(site));
    if (filters.length === 0) return;
    const granted = await client.subscribeAsync(Object.fromEntries(filters.map((f) => [f, { qos: 1 as const }])));
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length > 0) throw new Error(`refused subscriptions: ${refused.join(', ')}`);
  }

  private onClose(client: MqttClient): void {
    if (client !== this.client) return;
    this.cancelPacing?.();
    this.cancelPacing = undefined;
    this.client = undefined;
    client.end(true);
    if (this.isStopping) return;
    this.log.warn({}, 'partition session closed (broker, network, or taken over by another holder)');
    this.emit('closed');
  }

  /** Disconnect cleanly: the broker keeps the session and queues for the next holder. */
  async stop(): Promise<void> {
    this.isStopping = true;
    this.cancelPacing?.();
    this.cancelPacing = undefined;
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await client.endAsync();
  }
}
