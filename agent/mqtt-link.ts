/**
 * The agent's one MQTT connection (MQTT.js, protocol 3.1.1 so aedes and Mosquitto both accept it).
 *
 * - Reconnects are handled here, not by MQTT.js: each connection is a fresh client (reconnectPeriod 0),
 *   retried with exponential backoff and jitter; with several broker URLs (`mqtt.urls`) each failure moves to
 *   the next URL (protocols/mqtt-failover.ts). MQTT.js therefore never re-sends anything by itself:
 *   the on-disk outbox is the single source of what still has to go out.
 * - On every connect: retained `online` presence (the Last Will is a retained `offline`), subscribe to the
 *   agent's `cmd` topic only, then pump the outbox from its oldest row.
 * - QoS 1 with a cap on unacknowledged publishes (`maxInflight`), shared by the outbox and attachments.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Clock } from '../protocols/clock.ts';
import { BrokerFailover, redactBrokerUrl } from '../protocols/mqtt-failover.ts';
import { describeMqttError, type LoginFailure } from './broker-login.ts';
import type { Outbox, OutboxRow } from './outbox.ts';

export interface MqttLinkOptions {
  /** One or more broker URLs (a cluster's nodes), tried in turn. */
  urls: readonly string[];
  username?: string | undefined;
  password?: string | undefined;
  caFile?: string | undefined;
  clientId: string;
  keepaliveS: number;
  maxInflight: number;
  presenceTopic: string;
  commandTopic: string;
  onlinePayload: () => string;
  offlinePayload: () => string;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export interface MqttLinkDeps {
  outbox: Outbox;
  logger: Logger;
  clock: Clock;
}

export class LinkDownError extends Error {
  constructor() {
    super('mqtt link is down');
    this.name = 'LinkDownError';
  }
}

export class MqttLink extends EventEmitter {
  private readonly options: MqttLinkOptions;
  private readonly deps: MqttLinkDeps;
  private client: MqttClient | undefined;
  private generation = 0;
  private isConnectedNow = false;
  private stopping = false;
  private cancelReconnect: (() => void) | undefined;
  /** Why the current connection attempt failed (reported once it closes, with the next retry). */
  private failure: LoginFailure | undefined;
  /** Failed attempts in a row (login refusals and network failures), for the logs. */
  private failedAttempts = 0;
  private inflight = 0;
  /** Highest outbox position handed to the current connection. */
  private cursor = 0;
  private pumping = false;
  /** Replay bookkeeping: rows present when the link came up are "the backlog". */
  private replayEnd = 0;
  private replayTotal = 0;
  private replayDone = 0;
  /** The backlog of this connection is all acknowledged (it cannot come back until the next connect). */
  private isReplayOver = false;
  private readonly slotWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly failover: BrokerFailover;
  /** The URL of the current (or last) connection. */
  private url: string;

  constructor(options: MqttLinkOptions, deps: MqttLinkDeps) {
    super();
    this.options = options;
    this.deps = deps;
    this.failover = new BrokerFailover({
      urls: options.urls,
      minMs: options.reconnectMinMs ?? 500,
      maxMs: options.reconnectMaxMs ?? 30_000,
    });
    this.url = this.failover.current;
  }

  /** The broker URL of the current (or last) connection, without credentials. */
  get brokerUrl(): string {
    return redactBrokerUrl(this.url);
  }

  get connected(): boolean {
    return this.isConnectedNow;
  }

  /** True while rows buffered during an outage are still being sent. */
  get replaying(): boolean {
    if (!this.isConnectedNow || this.isReplayOver) return false;
    // rows are only appended after replayEnd: once the oldest stored row is past it, the replay is over
    if (this.cursorAcked() < this.replayEnd) return true;
    this.isReplayOver = true;
    return false;
  }

  private cursorAcked(): number {
    const next = this.deps.outbox.readAfter(0, 1)[0];
    return next === undefined ? Number.POSITIVE_INFINITY : next.n - 1;
  }

  get replayProgress(): { done: number; total: number } | undefined {
    return this.replayTotal > 0 && this.replaying ? { done: this.replayDone, total: this.replayTotal } : undefined;
  }

  start(): void {
    this.stopping = false;
    this.connect();
  }

  private connect(): void {
    const o = this.options;
    const gen = ++this.generation;
    const opts: IClientOptions = {
      clientId: o.clientId,
      protocolVersion: 4,
      keepalive: o.keepaliveS,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      queueQoSZero: false,
      resubscribe: false,
      // no table of 65,536 pre-built two-byte buffers (mqtt-packet's number cache: ~6 MB of heap, traced by every GC)
      writeCache: false,
      will: { topic: o.presenceTopic, payload: Buffer.from(o.offlinePayload()), qos: 1, retain: true },
    };
    if (o.username) opts.username = o.username;
    if (o.password) opts.password = o.password;
    if (o.caFile) opts.ca = readFileSync(o.caFile);
    this.url = this.failover.current;
    const client = mqtt.connect(this.url, opts);
    this.client = client;
    client.on('connect', () => {
      if (gen !== this.generation) return;
      this.onConnect(client, gen);
    });
    client.on('message', (topic, payload) => {
      if (gen === this.generation) this.emit('command', topic, payload);
    });
    client.on('error', (err) => {
      if (gen !== this.generation) return;
      if (!this.isConnectedNow) this.failure ??= describeMqttError(err, o.username !== undefined);
      else this.deps.logger.debug({ err: { message: err.message } }, 'mqtt error');
    });
    client.on('close', () => {
      if (gen !== this.generation) return;
      this.onClose(client);
    });
  }

  private onConnect(client: MqttClient, gen: number): void {
    this.failover.connected();
    this.failure = undefined;
    this.failedAttempts = 0;
    this.isConnectedNow = true;
    this.inflight = 0;
    this.cursor = 0;
    this.replayEnd = this.deps.outbox.lastPosition();
    this.replayTotal = this.deps.outbox.depth;
    this.replayDone = 0;
    this.isReplayOver = false;
    this.deps.logger.info({ url: this.brokerUrl, backlog: this.replayTotal }, 'mqtt connected');
    client.publish(this.options.presenceTopic, this.options.onlinePayload(), { qos: 1, retain: true });
    client.subscribe(this.options.commandTopic, { qos: 1 }, (err) => {
      if (!err || gen !== this.generation) return;
      // Without the cmd subscription the hub cannot reach this agent: drop the connection and connect again
      // (e.g. a NATS cluster refuses subscriptions for a few seconds while it elects a new JetStream leader).
      this.deps.logger.warn({ err: { message: err.message }, url: this.brokerUrl }, 'subscribe failed; reconnecting');
      client.end(true);
    });
    this.emit('connected');
    this.pump();
  }

  private onClose(client: MqttClient): void {
    // callbacks the old client still fires (with errors) must not touch the new connection's counters
    this.generation++;
    const wasConnected = this.isConnectedNow;
    this.isConnectedNow = false;
    this.inflight = 0;
    for (const waiter of this.slotWaiters.splice(0)) waiter.reject(new LinkDownError());
    client.removeAllListeners('connect');
    client.removeAllListeners('message');
    client.end(true);
    if (wasConnected) {
      this.deps.logger.warn({ url: this.brokerUrl }, 'mqtt connection lost');
      this.emit('disconnected');
    }
    const failure = wasConnected
      ? undefined
      : (this.failure ?? { isRefusal: false, reason: 'connection closed', code: undefined });
    this.failure = undefined;
    if (this.stopping) return;
    const delayMs = this.scheduleReconnect();
    if (failure) this.reportFailure(failure, delayMs);
  }

  /**
   * Every failed attempt is logged with its reason and the next retry: a refused login at `error` (a person
   * must fix the credentials; records pile up in the outbox meanwhile), a network failure at `warn`.
   */
  private reportFailure(failure: LoginFailure, retryInMs: number): void {
    this.failedAttempts++;
    const fields = {
      url: this.brokerUrl,
      username: this.options.username ?? null,
      clientId: this.options.clientId,
      reason: failure.reason,
      code: failure.code ?? null,
      attempt: this.failedAttempts,
      retryInMs,
      outboxDepth: this.deps.outbox.depth,
    };
    if (failure.isRefusal) this.deps.logger.error(fields, 'mqtt login refused by the broker');
    else this.deps.logger.warn(fields, 'mqtt connection failed');
    this.emit('connect-failed', failure);
  }

  private scheduleReconnect(): number {
    const { delayMs: delay } = this.failover.fail();
    this.cancelReconnect = this.deps.clock.setTimer(delay, () => {
      this.cancelReconnect = undefined;
      if (!this.stopping) this.connect();
    });
    return delay;
  }

  /** Send outbox rows in order while there is inflight room. Call after appending rows. */
  pump(): void {
    const client = this.client;
    if (!client || !this.isConnectedNow || this.pumping) return;
    // Everything appended has been sent: nothing to read.
    if (this.cursor >= this.deps.outbox.newest) return;
    this.pumping = true;
    const gen = this.generation;
    try {
      while (this.isConnectedNow && this.inflight < this.options.maxInflight && this.slotWaiters.length === 0) {
        const rows = this.deps.outbox.readAfter(this.cursor, Math.min(100, this.options.maxInflight - this.inflight));
        if (rows.length === 0) break;
        for (const row of rows) this.send(client, row, gen);
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * A row just written to the outbox: published from memory, without reading it back, when it is the very next
   * row to send (`n` follows the cursor: nothing older is waiting) and there is inflight room; else `pump()`.
   */
  publishAppended(row: OutboxRow): void {
    const client = this.client;
    if (
      client &&
      this.isConnectedNow &&
      !this.pumping &&
      row.n === this.cursor + 1 &&
      this.inflight < this.options.maxInflight &&
      this.slotWaiters.length === 0
    ) {
      this.send(client, row, this.generation);
      return;
    }
    this.pump();
  }

  private send(client: MqttClient, row: OutboxRow, gen: number): void {
    this.cursor = row.n;
    this.inflight++;
    const isBacklog = row.n <= this.replayEnd;
    client.publish(row.topic, row.payload, { qos: 1 }, (err) => {
      if (gen !== this.generation) return;
      this.inflight--;
      if (!err) {
        this.deps.outbox.ack(row.n);
        if (isBacklog) this.replayDone++;
        this.emit('acked', row);
      }
      this.releaseSlot();
    });
  }

  private releaseSlot(): void {
    const waiter = this.slotWaiters.shift();
    if (waiter) {
      this.inflight++;
      waiter.resolve();
      return;
    }
    queueMicrotask(() => this.pump());
  }

  private acquireSlot(): Promise<void> {
    if (!this.isConnectedNow) return Promise.reject(new LinkDownError());
    if (this.inflight < this.options.maxInflight) {
      this.inflight++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.slotWaiters.push({ resolve, reject }));
  }

  /** Publish one QoS 1 message outside the outbox (replies, attachment chunks), within the inflight cap. */
  async publishQos1(topic: string, payload: string): Promise<void> {
    await this.acquireSlot();
    const client = this.client;
    const gen = this.generation;
    if (!client || gen !== this.generation || !this.isConnectedNow) throw new LinkDownError();
    await new Promise<void>((resolve, reject) => {
      client.publish(topic, payload, { qos: 1 }, (err) => {
        if (gen !== this.generation) return reject(new LinkDownError());
        this.inflight--;
        this.releaseSlot();
        if (err) reject(err);
        else resolve();
      });
    });
  }

  /** Fire-and-forget QoS 0 (heartbeat). Dropped while disconnected. */
  publishQos0(topic: string, payload: string): void {
    if (this.client && this.isConnectedNow) this.client.publish(topic, payload, { qos: 0 });
  }

  /** Publish the retained `offline` presence (waiting for its PUBACK, bounded) and disconnect. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelReconnect?.();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.generation++;
    if (this.isConnectedNow) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        client.publish(this.options.presenceTopic, this.options.offlinePayload(), { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.isConnectedNow = false;
    for (const waiter of this.slotWaiters.splice(0)) waiter.reject(new LinkDownError());
    await new Promise<void>((resolve) => {
      client.end(false, {}, () => resolve());
    });
  }
}
