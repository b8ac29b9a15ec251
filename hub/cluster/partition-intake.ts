/**
 * The hub's record intake in a cluster with an external broker (issue 16): instead of one hub-wide subscription,
 * the sessions of the partitions this node holds (partition-sessions.ts). A partition gained -> its persistent
 * session connects and the broker hands over what agents published meanwhile; lost -> its session closes at once
 * (the lease manager says so before the lease can end in the database). Messages go to the same ingest entry point
 * the broker client feeds (hub/broker/module.ts), each acknowledged only after ingest took it.
 *
 * The sessions subscribe to the sites the registry knows (customers' sites, devices' sites, agents' sites); a new
 * site is picked up on the next refresh (every `refreshMs`).
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../../protocols/clock.ts';
import { AgentPacer } from '../broker/agent-pacer.ts';
import type { LeaseManager } from './lease-manager.ts';
import { PartitionSessions } from './partition-sessions.ts';

export interface PartitionIntakeOptions {
  manager: Pick<LeaseManager, 'on' | 'off' | 'epochOf' | 'heldLeases'>;
  partitions: number;
  urls: readonly string[];
  username?: string | undefined;
  password?: string | undefined;
  reconnectMs: number;
  /** Per-agent cap (`mqtt.maxMessagesPerSecond`): over it a message waits (and its PUBACK), it is not dropped. */
  maxMessagesPerSecond: number;
  /** How often the site list is read again (new sites subscribed). */
  refreshMs: number;
  /** The sites known now. */
  sites(): readonly string[];
  clock: Clock;
  logger: Logger;
  metrics: Registry;
}

export type IntakeHandler = (topic: string, payload: Buffer) => void;

export class PartitionIntake {
  private readonly opts: PartitionIntakeOptions;
  private sessions: PartitionSessions | undefined;
  private cancelRefresh: (() => void) | undefined;
  private knownSites = '';
  private readonly pacer: AgentPacer;
  private readonly paced: Counter;

  constructor(opts: PartitionIntakeOptions) {
    this.opts = opts;
    this.pacer = new AgentPacer(opts.maxMessagesPerSecond, opts.clock);
    this.paced = new Counter({
      name: 'hezo_cluster_partition_paced_total',
      help: 'Messages of the partition sessions held back (not dropped) by the per-agent rate cap',
      registers: [opts.metrics],
    });
    const connected = () => this.connected().length;
    new Gauge({
      name: 'hezo_cluster_partition_sessions_connected',
      help: 'Partitions whose persistent MQTT session is connected on this node now',
      registers: [opts.metrics],
      collect() {
        this.set(connected());
      },
    });
  }

  /** Open the sessions of the partitions held now, and follow the leases from now on. */
  start(onMessage: IntakeHandler): void {
    const { opts } = this;
    this.knownSites = siteKey(opts.sites());
    this.sessions = new PartitionSessions({
      manager: opts.manager,
      partitions: opts.partitions,
      sites: opts.sites,
      urls: opts.urls,
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      reconnectMs: opts.reconnectMs,
      clock: opts.clock,
      logger: opts.logger,
      pacing: { pacer: this.pacer, clock: opts.clock, onPaced: () => this.paced.inc() },
      onMessage: (_partition, _epoch, topic, payload) => onMessage(topic, payload),
    });
    this.sessions.start();
    this.scheduleRefresh();
  }

  /** Partitions whose session is connected now. */
  connected(): number[] {
    return this.sessions?.connected() ?? [];
  }

  private scheduleRefresh(): void {
    this.cancelRefresh = this.opts.clock.setTimer(this.opts.refreshMs, () => {
      const key = siteKey(this.opts.sites());
      const sessions = this.sessions;
      if (sessions === undefined) return;
      if (key !== this.knownSites) {
        this.knownSites = key;
        void sessions.refreshSites();
      }
      this.scheduleRefresh();
    });
  }

  /** Close every session cleanly (the broker keeps them for the partitions' next holders). */
  async stop(): Promise<void> {
    this.cancelRefresh?.();
    this.cancelRefresh = undefined;
    const sessions = this.sessions;
    this.sessions = undefined;
    await sessions?.stop();
  }
}

function siteKey(sites: readonly string[]): string {
  return [...new Set(sites)].sort().join('\n');
}
