/**
 * The embedded aedes broker: TCP, optional TLS and MQTT-over-websocket listeners, agent authentication and
 * topic authorisation. Every accepted agent publish goes to `onMessage` (the ingest); the hub itself publishes
 * in-process (`broker.publish`, no client), which bypasses the agent ACL.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { HubConfig } from '../config.ts';
import type { MessageSource } from '../ingest/ingest.ts';
import { authorizeAgentPublish, authorizeAgentSubscribe, mayRetain } from './acl.ts';
import { AgentCredentials, type AgentIdentity } from './credentials.ts';
import type { MqttTransport, TransportUrls } from './transport.ts';

/** CONNACK return codes (MQTT 3.1.1). */
const BAD_USERNAME_OR_PASSWORD = 4;
const IDENTIFIER_REJECTED = 2;

interface ClientInfo {
  identity: AgentIdentity | undefined;
}

export interface EmbeddedBrokerDeps {
  config: Readonly<HubConfig>;
  logger: Logger;
  metrics: Registry;
  onMessage(topic: string, payload: Buffer, source: MessageSource): void;
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
  private wss: WebSocketServer | undefined;

  constructor(deps: EmbeddedBrokerDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ component: 'broker' });
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
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then(
          (code) => done(code === 0 ? null : authError(code), code === 0),
          () => done(authError(BAD_USERNAME_OR_PASSWORD), false),
        );
      },
      authorizePublish: (client, packet, done) => {
        if (client === null) return done(null);
        const info = this.clients.get(client);
        const decision = authorizeAgentPublish(info?.identity, packet.topic);
        if (!decision.ok) {
          this.deny('publish', decision.reason, client, packet.topic);
          return done(new Error(`publish denied: ${decision.reason}`));
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
          this.deps.onMessage(packet.topic, payload, { clientId: client.id, identity: info?.identity });
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
    });

    const urls: TransportUrls = { mqttUrl: '' };
    const tcp = createNetServer(broker.handle);
    urls.mqttUrl = `mqtt://${await this.listen(tcp, mqtt.host, mqtt.port)}`;
    if (mqtt.tls !== undefined) {
      const tls = createTlsServer(
        { cert: readFileSync(mqtt.tls.certFile), key: readFileSync(mqtt.tls.keyFile) },
        broker.handle,
      );
      urls.mqttTlsUrl = `mqtts://${await this.listen(tls, mqtt.host, mqtt.tls.port)}`;
    }
    if (mqtt.wsPort !== undefined) {
      const http = createHttpServer((_req, res) => res.writeHead(426).end());
      const wss = new WebSocketServer({ server: http, maxPayload: 1024 * 1024 });
      wss.on('connection', (socket, req) => {
        const stream = createWebSocketStream(socket);
        stream.on('error', () => socket.terminate());
        broker.handle(stream, req);
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
    if (username === undefined && password === undefined) {
      if (!this.deps.config.mqtt.allowAnonymous) {
        this.deny('connect', 'anonymous', client, '');
        return BAD_USERNAME_OR_PASSWORD;
      }
    } else {
      identity = await credentials.verify(username, password);
      if (identity === undefined) {
        this.deny('connect', 'bad-credentials', client, '');
        return BAD_USERNAME_OR_PASSWORD;
      }
    }
    const owner = this.owners.get(client.id);
    if (owner !== undefined && owner.client !== client && owner.agentId !== identity?.agentId) {
      this.deny('connect', 'client-id-taken', client, '');
      return IDENTIFIER_REJECTED;
    }
    this.owners.set(client.id, { client, agentId: identity?.agentId });
    this.clients.set(client, { identity });
    return 0;
  }

  private deny(action: 'connect' | 'publish' | 'subscribe', reason: string, client: Client, topic: string): void {
    this.denied.labels(action, reason).inc();
    this.log.warn({ action, reason, clientId: client.id, topic: topic.slice(0, 200) }, 'mqtt access denied');
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
