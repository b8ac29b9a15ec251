/**
 * The stream for callers limited to some customers (customer users, wall users with a list): one LiveStream per
 * distinct customer set, fed only the changes those customers may see, with a snapshot filtered the same way.
 * Callers who see everything share the module's main stream (serialise-once fan-out is kept for them).
 * Progress rows (agent replays, evidence transfers) are staff-only.
 */
import { Registry } from 'prom-client';
import { maySee, type Principal } from '../people/roles.ts';
import type { DeviceView, SiteAlert, SlaEvent, TicketView } from '../types.ts';
import type { ProgressItem, SnapshotMessage } from './messages.ts';
import { LiveStream, type StreamOptions } from './stream.ts';

type Snapshot = Pick<SnapshotMessage, 'devices' | 'tickets' | 'siteAlerts' | 'progress'>;

export interface ScopeOwners {
  device(serial: string): string | null | undefined;
  ticket(id: string): string | null | undefined;
}

interface Scoped {
  customers: readonly string[];
  stream: LiveStream;
}

export class ScopedStreams {
  private readonly base: Omit<StreamOptions, 'snapshot' | 'metrics'>;
  private readonly snapshot: () => Snapshot;
  private readonly owners: ScopeOwners;
  private readonly streams = new Map<string, Scoped>();
  private isStarted = false;

  constructor(base: Omit<StreamOptions, 'snapshot' | 'metrics'>, snapshot: () => Snapshot, owners: ScopeOwners) {
    this.base = base;
    this.snapshot = snapshot;
    this.owners = owners;
  }

  /** The stream of a scoped principal (created on first use). */
  streamFor(principal: Pick<Principal, 'customers'>): LiveStream {
    const customers = principal.customers === 'all' ? [] : [...new Set(principal.customers)].sort();
    const key = customers.join('\n');
    let scoped = this.streams.get(key);
    if (scoped === undefined) {
      const who = { customers };
      const stream = new LiveStream({
        ...this.base,
        // Its own registry: the main stream's series stay the hub's totals of the shared fan-out.
        metrics: new Registry(),
        snapshot: () => {
          const all = this.snapshot();
          return {
            devices: all.devices.filter((d) => maySee(who, d.customer)),
            tickets: all.tickets.filter((t) => maySee(who, t.customer)),
            siteAlerts: all.siteAlerts.filter((a) => this.alertVisible(who, a)),
            progress: [],
          };
        },
      });
      scoped = { customers, stream };
      this.streams.set(key, scoped);
      if (this.isStarted) stream.start();
    }
    return scoped.stream;
  }

  private alertVisible(who: { customers: readonly string[] }, alert: SiteAlert): boolean {
    return alert.serials.length > 0 && alert.serials.every((s) => maySee(who, this.owners.device(s)));
  }

  publishDevice(device: DeviceView): void {
    for (const s of this.streams.values()) if (maySee(s, device.customer)) s.stream.publishDevice(device);
  }

  publishTicket(ticket: TicketView): void {
    for (const s of this.streams.values()) if (maySee(s, ticket.customer)) s.stream.publishTicket(ticket);
  }

  publishSla(event: SlaEvent): void {
    if (this.streams.size === 0) return;
    const owner = this.owners.ticket(event.ticketId);
    for (const s of this.streams.values()) if (maySee(s, owner)) s.stream.publishSla(event);
  }

  publishSiteAlert(alert: SiteAlert): void {
    for (const s of this.streams.values()) if (this.alertVisible(s, alert)) s.stream.publishSiteAlert(alert);
  }

  publishProgress(_item: ProgressItem): void {
    // Staff only.
  }

  start(): void {
    this.isStarted = true;
    for (const s of this.streams.values()) s.stream.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => s.stream.stop()));
  }
}
