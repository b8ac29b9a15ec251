/**
 * Broker + ingest + commands, as one hub module. Provides `ctx.services.commands`.
 * `start()` opens the MQTT listeners (hub.ts starts this module after every other one, so no message arrives
 * before the detector is ready); `stop()` closes them first and rejects pending commands.
 */
import { topics } from '../../protocols/topics.ts';
import type { HubContext, HubModule } from '../context.ts';
import { CommandRouter } from '../ingest/commands.ts';
import { Ingest, type MessageSource } from '../ingest/ingest.ts';
import { AgentCredentials } from './credentials.ts';
import { EmbeddedBroker } from './embedded.ts';
import { ExternalBroker } from './external.ts';
import { startInsecureWarning } from './insecure-warning.ts';
import type { MqttTransport, TransportUrls } from './transport.ts';

export interface BrokerModule extends HubModule {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly ingest: Ingest;
  readonly commands: CommandRouter;
  /** Set once started. */
  urls(): TransportUrls | undefined;
}

const SWEEP_MS = 60_000;

/** Issue 16: the partition sessions of a cluster node (hub/cluster/partition-intake.ts) feed ingest instead. */
export interface PartitionIntakePort {
  start(onMessage: (topic: string, payload: Buffer) => void): void;
  stop(): Promise<void>;
}
/** As from an external broker: identity = the topic's agent (enforced by the broker's ACL). */
const PARTITION_SOURCE: MessageSource = { clientId: 'external', identity: undefined, isPaced: true };

export function createBrokerModule(ctx: HubContext, intake?: PartitionIntakePort): BrokerModule {
  const { config, clock, bus, logger, metrics } = ctx;
  const knownAgents = new Map(config.agents.map((a) => [a.id, { agentId: a.id, site: a.site }]));
  // Shared with the registry API: agents created or rotated there connect without a restart.
  const credentials = new AgentCredentials(config.agents);
  ctx.services.agentAccounts = {
    set(agent) {
      credentials.set(agent);
      knownAgents.set(agent.id, { agentId: agent.id, site: agent.site });
    },
    delete(agentId) {
      credentials.delete(agentId);
      knownAgents.delete(agentId);
    },
  };
  let transport: MqttTransport | undefined;
  const commands = new CommandRouter({
    bus,
    clock,
    logger,
    publish: (topic, payload) => transport?.publish(topic, payload) ?? Promise.reject(new Error('mqtt not started')),
    mayCommand: (site, serial) => ctx.services.ownership?.mayCommand(site, serial) ?? { ok: true },
  });
  const ingest = new Ingest({
    bus,
    clock,
    logger,
    metrics,
    detection: config.detection,
    maxMessagesPerSecond: config.mqtt.maxMessagesPerSecond,
    knownAgent: (agentId) => knownAgents.get(agentId),
    onReply: (reply, from) => commands.handleReply(reply, from),
    ownership: () => ctx.services.ownership,
  });
  ctx.services.commands = commands;
  const onMessage = (topic: string, payload: Buffer, source: MessageSource) => ingest.handle(topic, payload, source);
  let urls: TransportUrls | undefined;
  let cancelSweep: (() => void) | undefined;
  let stopInsecureWarning: () => void = () => {};

  const sweep = () => {
    ingest.sweep();
    cancelSweep = clock.setTimer(SWEEP_MS, sweep);
  };

  return {
    name: 'broker',
    ingest,
    commands,
    urls: () => urls,
    async start() {
      commands.start();
      transport =
        config.mqtt.mode === 'external'
          ? new ExternalBroker({
              config,
              logger,
              clock,
              metrics,
              onMessage,
              // with partition sessions, this connection publishes commands and hears replies only
              ...(intake !== undefined ? { subscriptions: [topics.allReplies()], isSessionKept: false } : {}),
            })
          : new EmbeddedBroker({ config, logger, metrics, onMessage, clock, credentials });
      urls = await transport.start();
      intake?.start((topic, payload) => ingest.handle(topic, payload, PARTITION_SOURCE));
      cancelSweep = clock.setTimer(SWEEP_MS, sweep);
      stopInsecureWarning = startInsecureWarning(config, clock, logger);
    },
    async stop() {
      cancelSweep?.();
      stopInsecureWarning();
      await intake?.stop();
      await transport?.stop();
      commands.stop();
    },
  };
}
