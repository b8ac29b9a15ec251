/**
 * The embedded aedes broker: TCP, optional TLS and MQTT-over-websocket listeners, agent authentication and
 * topic authorisation. Every accepted agent publish goes to `onMessage` (the ingest); the hub itself publishes
 * in-process (`broker.publish`, no client), which bypasses the agent ACL.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { type Clock, systemClock } from '../../protocols/clock.ts';
import type { HubConfig } from '../config.ts';
import type { MessageSource } from '../ingest/ingest.ts';
import { authorizeAgentPublish, authorizeAgentSubscribe, mayRetain } from './acl.ts';
import { ClientIdBinding } from './client-id.ts';
import { AgentCredentials, type AgentIdentity } from './credentials.ts';
import { LoginThrottle } from './login-throttle.ts';
import { gateReads, PacketGate } from './packet-gate.ts';
import type { MqttTransport, TransportUrls } from './transport.ts';

/** CONNACK return codes (MQTT 3.1.1). */
const BAD_USERNAME_OR_PASSWORD = 4;
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
/** A denial of one (action, reason) is logged at most once per this interval (each one is counted). */
const DENY_LOG_EVERY_MS = 60_000;

interface ClientInfo {
  identity: AgentIdentity | undefined;
  /** Topics this client was already allowed to publish on (the ACL is pure in identity and topic). */
  allowed: Set<string>;
  /** What the ingest is told about every message of this client (one object per connection, not per message). */
  source: MessageSource;
}

/** Allowed topics remembered per client (an agent's devices x kinds); past this the set starts over. */
const MAX_ALLOWED_TOPICS = 4096;

export interface EmbeddedBrokerDeps {
  config: Readonly<HubConfig>;
  logger: Logger;
  metrics: Registry;
  onMessage(topic: string, payload: Buffer, source: MessageSource): void;
  clock?: Clock;
  /** Shared with the registry API (agents added at run time); default: the config's agents. */
  credentials?: AgentCredentials;
}

export class EmbeddedBroker implements MqttTransport {
  private readonly deps: EmbeddedBrokerDeps;
  private readonly log: Logger;
  private readonly clients = new WeakMap<Client, ClientInfo>();
  /** Connected client id -> agent id, so one agent cannot take over (and kick off) another agent's session. */
  private readonly owners = new Map<string, { client: Client; agentId: string | undefined }>();
  private readonly denied: Counter<'action' | 'reason'>;
  private readonly clientErrors: Counter<'kind'>;
  private broker: Aedes | undefined;
  private credentials: AgentCredentials | undefined;
  private readonly servers: Array<NetServer | HttpServer> = [];
  private readonly clock: Clock;
  private readonly throttle: LoginThrottle;
  private readonly binding: ClientIdBinding;
  /** agentId -> its connected clients by client id (the per-agent connection cap). */
  private readonly connections = new Map<string, Map<string, Client>>();
  private readonly lastDenyLog = new Map<string, number>();
  private wss: WebSocketServer | undefined;

  constructor(deps: EmbeddedBrokerDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ component: 'broker' });
    this.clock = deps.clock ?? systemClock;
    const { mqtt } = deps.config;
    this.throttle = new LoginThrottle({
      freeAttempts: mqtt.loginFreeAttempts,
      baseDelayMs: mqtt.loginBaseDelayMs,
      maxDelayMs: mqtt.loginMaxDelayMs,
      now: () => this.clock.now(),
    });
    const configAgents = deps.config.agents.map((a) => ({ agentId: a.id, site: a.site }));
    this.binding = new ClientIdBinding(() => this.credentials?.owners() ?? configAgents);
    this.denied = new Counter({
      name: 'hezo_mqtt_auth_denied_total',
      help: 'MQTT connects, publishes and subscribes refused by the broker, by action and reason',
      labelNames: ['action', 'reason'],
      registers: [deps.metrics],
    });
    this.clientErrors = new Counter({
      name: 'hezo_mqtt_client_errors_total',
      help: 'MQTT connections closed on a protocol or socket error',
      labelNames: ['kind'],
      registers: [deps.metrics],
    });
    const self = this;
    new Gauge({
      name: 'hezo_mqtt_clients',
      help: 'Connected MQTT clients (embedded broker)',
      registers: [deps.metrics],
      collect() {
        this.set(self.broker?.connectedClients ?? 0);
      },
    });
  }

  async start(): Promise<TransportUrls> {
    const { mqtt, agents } = this.deps.config;
    this.credentials = this.deps.credentials ?? new AgentCredentials(agents);
    const broker = await Aedes.createBroker({
      drainTimeout: 10_000,
      connectTimeout: mqtt.connectTimeoutMs,
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then(
          (code) => done(code === 0 ? null : authError(code), code === 0),
          () => done(authError(BAD_USERNAME_OR_PASSWORD), false),
        );
      },
      authorizePublish: (client, packet, done) => {
        if (client === null) return done(null);
        const info = this.clients.get(client);
        if (info === undefined || !info.allowed.has(packet.topic)) {
          const decision = authorizeAgentPublish(info?.identity, packet.topic);
          if (!decision.ok) {
            this.deny('publish', decision.reason, client, packet.topic);
            return done(new Error(`publish denied: ${decision.reason}`));
          }
          if (info !== undefined) {
            if (info.allowed.size >= MAX_ALLOWED_TOPICS) info.allowed.clear();
            info.allowed.add(packet.topic);
          }
        }
        if (packet.retain && !mayRetain(packet.topic)) packet.retain = false;
        done(null);
      },
      authorizeSubscribe: (client, subscription, done) => {
        const info = this.clients.get(client);
        const decision = authorizeAgentSubscribe(info?.identity, subscription.topic);
        if (!decision.ok) {
          this.deny('subscribe', decision.reason, client, subscription.topic);
          return done(null, null);
        }
        done(null, subscription);
      },
      published: (packet, client, done) => {
        if (client !== null && client !== undefined && !packet.topic.startsWith('$')) {
          const info = this.clients.get(client);
          const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
          this.deps.onMessage(packet.topic, payload, info?.source ?? { clientId: client.id, identity: undefined });
        }
        done(null);
      },
    });
    this.broker = broker;
    broker.on('clientError', (client, err) => this.onClientError('client', client, err));
    broker.on('connectionError', (client, err) => this.onClientError('connection', client, err));
    (broker as unknown as NodeJS.EventEmitter).on('error', (err: unknown) => this.log.error({ err }, 'broker error'));
    broker.on('clientDisconnect', (client) => {
      if (this.owners.get(client.id)?.client === client) this.owners.delete(client.id);
      this.forgetConnection(client);
    });
    // Every connection passes the packet-size gate before aedes buffers anything (packet-gate.ts).
    const gated = (stream: Duplex, remoteAddress: string | undefined, req?: unknown) => {
      const remote = remoteAddress ?? 'unknown';
      const gate = new PacketGate({ maxConnectBytes: mqtt.maxConnectBytes });
      const gatedStream = gateReads(stream, gate, (why) => this.onOversize(remote, why));
      // a websocket stream has no address of its own: the broker's logs and limits read it from the connection
      if (!('remoteAddress' in gatedStream)) Object.defineProperty(gatedStream, 'remoteAddress', { value: remote });
      gatedStream.on('error', () => {});
      (broker.handle as (stream: Duplex, req?: unknown) => void)(gatedStream, req);
    };

    const urls: TransportUrls = { mqttUrl: '' };
    const tcp = createNetServer((socket) => gated(socket, socket.remoteAddress));
    urls.mqttUrl = `mqtt://${await this.listen(tcp, mqtt.host, mqtt.port)}`;
    if (mqtt.tls !== undefined) {
      const tls = createTlsServer(
        { cert: readFileSync(mqtt.tls.certFile), key: readFileSync(mqtt.tls.keyFile) },
        (socket) => gated(socket, socket.remoteAddress),
      );
      urls.mqttTlsUrl = `mqtts://${await this.listen(tls, mqtt.host, mqtt.tls.port)}`;
    }
    if (mqtt.wsPort !== undefined) {
      const http = createHttpServer((_req, res) => res.writeHead(426).end());
      const wss = new WebSocketServer({ server: http, maxPayload: 1024 * 1024 });
      wss.on('connection', (socket, req) => {
        const stream = createWebSocketStream(socket);
        stream.on('error', () => socket.terminate());
        gated(stream, req.socket.remoteAddress, req);
      });
      this.wss = wss;
      urls.mqttWsUrl = `ws://${await this.listen(http, mqtt.host, mqtt.wsPort)}`;
    }
    this.log.info({ ...urls, agents: agents.length, allowAnonymous: mqtt.allowAnonymous }, 'broker listening');
    return urls;
  }

  publish(topic: string, payload: string): Promise<void> {
    const broker = this.broker;
    if (broker === undefined) return Promise.reject(new Error('broker not started'));
    return new Promise((resolve, reject) => {
      broker.publish(
        { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  async stop(): Promise<void> {
    const closing = this.servers
      .splice(0)
      .map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    this.wss?.close();
    const broker = this.broker;
    this.broker = undefined;
    if (broker !== undefined) await new Promise<void>((resolve) => broker.close(() => resolve()));
    for (const client of this.wss?.clients ?? []) client.terminate();
    await Promise.all(closing);
  }

  /** 0 when accepted, else the CONNACK return code. */
  private async authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<number> {
    const credentials = this.credentials;
    if (credentials === undefined) return BAD_USERNAME_OR_PASSWORD;
    let identity: AgentIdentity | undefined;
    const remote = (client.conn as { remoteAddress?: string } | undefined)?.remoteAddress ?? 'unknown';
    const keys = [`ip:${remote}`, ...(username !== undefined ? [`user:${username}`] : [])];
    // DECISION: a blocked IP still lets a KNOWN agent name try (its own username key throttles the guesses), so
    // one misconfigured agent behind a NAT does not lock out every healthy agent sharing that address.
    const isKnown = username !== undefined && credentials.identity(username) !== undefined;
    if (this.throttle.blockedFor(isKnown ? keys.slice(1) : keys) > 0) {
      this.deny('connect', 'throttled', client, '');
      return BAD_USERNAME_OR_PASSWORD;
    }
    if (username === undefined && password === undefined) {
      if (!this.deps.config.mqtt.allowAnonymous || !this.deps.config.mqtt.insecureDevelopmentOnly) {
        this.deny('connect', 'anonymous', client, '');
        return BAD_USERNAME_OR_PASSWORD;
      }
    } else {
      identity = await credentials.verify(username, password);
      if (identity === undefined) {
        this.throttle.failure(keys);
        this.deny('connect', 'bad-credentials', client, '');
        return BAD_USERNAME_OR_PASSWORD;
      }
      this.throttle.success([`user:${username}`]);
      if (!this.binding.mayUse(identity.agentId, client.id)) {
        this.deny('connect', 'client-id-not-own', client, '');
        return IDENTIFIER_REJECTED;
      }
      const mine = this.connections.get(identity.agentId) ?? new Map<string, Client>();
      for (const [id, other] of mine) if ((other as unknown as { closed: boolean }).closed) mine.delete(id);
      if (!mine.has(client.id) && mine.size >= this.deps.config.mqtt.maxConnectionsPerAgent) {
        this.deny('connect', 'too-many-connections', client, '');
        return SERVER_UNAVAILABLE;
      }
    }
    const owner = this.owners.get(client.id);
    if (owner !== undefined && owner.client !== client && owner.agentId !== identity?.agentId) {
      this.deny('connect', 'client-id-taken', client, '');
      return IDENTIFIER_REJECTED;
    }
    this.owners.set(client.id, { client, agentId: identity?.agentId });
    this.clients.set(client, { identity, allowed: new Set(), source: { clientId: client.id, identity } });
    if (identity !== undefined) {
      const mine = this.connections.get(identity.agentId) ?? new Map<string, Client>();
      mine.set(client.id, client);
      this.connections.set(identity.agentId, mine);
    }
    return 0;
  }

  private deny(action: 'connect' | 'publish' | 'subscribe', reason: string, client: Client, topic: string): void {
    this.denied.labels(action, reason).inc();
    if (!this.isLogDue(`${action}\u0000${reason}`)) return;
    const remote = (client.conn as { remoteAddress?: string } | undefined)?.remoteAddress;
    this.log.warn(
      { action, reason, clientId: client.id?.slice(0, 64), remote, topic: topic.slice(0, 200) },
      'mqtt access denied (logged once a minute per reason; every one is counted in hezo_mqtt_auth_denied_total)',
    );
  }

  private isLogDue(key: string): boolean {
    const now = this.clock.now();
    const last = this.lastDenyLog.get(key);
    if (last !== undefined && now - last < DENY_LOG_EVERY_MS) return false;
    this.lastDenyLog.set(key, now);
    return true;
  }

  /** A packet larger than its limit was announced: the connection is already being closed. */
  private onOversize(remote: string, why: string): void {
    this.denied.labels('packet', 'too-large').inc();
    if (this.isLogDue('packet\u0000too-large'))
      this.log.warn({ remote, why }, 'mqtt connection closed: packet too large');
  }

  private forgetConnection(client: Client): void {
    const identity = this.clients.get(client)?.identity;
    if (identity === undefined) return;
    const mine = this.connections.get(identity.agentId);
    if (mine?.get(client.id) !== client) return;
    mine.delete(client.id);
    if (mine.size === 0) this.connections.delete(identity.agentId);
  }

  private onClientError(kind: 'client' | 'connection', client: Client, err: Error): void {
    this.clientErrors.labels(kind).inc();
    this.log.debug({ clientId: client.id, err: err.message }, 'mqtt client error');
  }

  private async listen(server: NetServer | HttpServer, host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.push(server);
    const address = server.address() as AddressInfo;
    return `${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  }
}

function authError(code: number): AuthenticateError {
  const err = new Error('not authorised') as AuthenticateError;
  err.returnCode = code;
  return err;
}
