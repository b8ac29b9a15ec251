/**
 * Glue between a node's leases and the broker (issue 16): on `acquired(k, epoch)` open partition k's persistent MQTT
 * session; on `lost(k)` close it at once. A session the broker closes (network, broker restart, another holder) is
 * reopened after `reconnectMs` only while this node still holds k at the same epoch. Every message is handed on with
 * the partition and the epoch it arrived under, so what it causes can be written fenced (fencing.ts).
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import type { LeaseManager } from './lease-manager.ts';
import { PartitionSession, type PartitionSessionOptions, partitionClientId } from './partition-session.ts';
import { sitesOfPartition } from './partitions.ts';

export interface PartitionSessionsOptions {
  manager: Pick<LeaseManager, 'on' | 'off' | 'epochOf' | 'heldLeases'>;
  partitions: number;
  /** The sites known now (registry): each session subscribes to those of its partition. */
  sites(): readonly string[];
  urls: readonly string[];
  username?: string;
  password?: string;
  clientIdPrefix?: string;
  reconnectMs: number;
  clock: Clock;
  logger: Logger;
  onMessage(partition: number, epoch: number, topic: string, payload: Buffer): void;
  /** The per-agent rate cap, shared by every session of the node (partition-session.ts). */
  pacing?: PartitionSessionOptions['pacing'];
}

interface Open {
  epoch: number;
  session: PartitionSession;
  cancelRetry?: () => void;
}

export class PartitionSessions {
  private readonly opts: PartitionSessionsOptions;
  private readonly log: Logger;
  private readonly open = new Map<number, Open>();
  private readonly onAcquired = (partition: number, epoch: number): void => this.openSession(partition, epoch);
  private readonly onLost = (partition: number): void => {
    void this.closeSession(partition);
  };

  constructor(opts: PartitionSessionsOptions) {
    this.opts = opts;
    this.log = opts.logger.child({ component: 'partition-sessions' });
  }

  /** Partitions whose session is connected now. */
  connected(): number[] {
    return [...this.open]
      .filter(([, o]) => o.session.isConnected)
      .map(([p]) => p)
      .sort((a, b) => a - b);
  }

  /** The registry's sites changed: every open session follows (subscribes to new sites of its partition). */
  async refreshSites(): Promise<void> {
    const sites = this.opts.sites();
    await Promise.all(
      [...this.open].map(([p, o]) =>
        o.session.setSites(sitesOfPartition(sites, p, this.opts.partitions)).catch((err: unknown) => {
          this.log.warn({ partition: p, err: (err as Error).message }, 'partition session: sites not updated');
        }),
      ),
    );
  }

  /** Follow the manager from now on (and open sessions for what it already holds). */
  start(): void {
    this.opts.manager.on('acquired', this.onAcquired);
    this.opts.manager.on('lost', this.onLost);
    for (const lease of this.opts.manager.heldLeases()) this.openSession(lease.partition, lease.epoch);
  }

  async stop(): Promise<void> {
    this.opts.manager.off('acquired', this.onAcquired);
    this.opts.manager.off('lost', this.onLost);
    await Promise.all([...this.open.keys()].map((p) => this.closeSession(p)));
  }

  private openSession(partition: number, epoch: number): void {
    const previous = this.open.get(partition);
    if (previous !== undefined) void this.closeSession(partition);
    const session = new PartitionSession({
      partition,
      sites: sitesOfPartition(this.opts.sites(), partition, this.opts.partitions),
      urls: this.opts.urls,
      clientId: partitionClientId(partition, this.opts.clientIdPrefix),
      ...(this.opts.username !== undefined ? { username: this.opts.username } : {}),
      ...(this.opts.password !== undefined ? { password: this.opts.password } : {}),
      logger: this.opts.logger,
      ...(this.opts.pacing !== undefined ? { pacing: this.opts.pacing } : {}),
      onMessage: (topic, payload) => {
        // a message that arrives after the lease was lost is refused, not acknowledged: the next holder gets it
        if (this.opts.manager.epochOf(partition) !== epoch) return false;
        this.opts.onMessage(partition, epoch, topic, payload);
        return true;
      },
    });
    const entry: Open = { epoch, session };
    this.open.set(partition, entry);
    session.on('closed', () => this.retry(partition, entry));
    this.connect(partition, entry);
  }

  private connect(partition: number, entry: Open): void {
    entry.session.start().then(
      () => {
        // lost while connecting: leave at once
        if (this.open.get(partition) !== entry) void entry.session.stop();
      },
      (err: unknown) => {
        this.log.warn({ partition, err: (err as Error).message }, 'partition session could not connect');
        this.retry(partition, entry);
      },
    );
  }

  private retry(partition: number, entry: Open): void {
    if (this.open.get(partition) !== entry || this.opts.manager.epochOf(partition) !== entry.epoch) return;
    entry.cancelRetry = this.opts.clock.setTimer(this.opts.reconnectMs, () => {
      entry.cancelRetry = undefined;
      if (this.open.get(partition) === entry && this.opts.manager.epochOf(partition) === entry.epoch) {
        this.connect(partition, entry);
      }
    });
  }

  private async closeSession(partition: number): Promise<void> {
    const entry = this.open.get(partition);
    if (entry === undefined) return;
    this.open.delete(partition);
    entry.cancelRetry?.();
    await entry.session.stop().catch(() => undefined);
  }
}
