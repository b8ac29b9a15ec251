/**
 * Ticket notifications that survive a node's death (issue 16): `ticket.opened` and `ticket.escalated` go through
 * the shared notification log (notification-log.ts) - claimed before they are sent, marked when done - and what a
 * dead node left owed is delivered by the holder of the ticket's site: when this node starts, when it gains a
 * partition, and every `sweepEveryMs` (a node gone for good). SLA warnings and breaches are not logged here: the
 * SLA events table already makes them once per (ticket, clock, level, due).
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import type { TicketView } from '../types.ts';
import type { LoggedEvent, NotificationLog } from './notification-log.ts';
import type { Notifier } from './notifier.ts';

/** A ticket whose `ticket.opened` was never claimed is owed it for this long after it opened (then it is history). */
const OPENED_OWED_FOR_MS = 24 * 3600_000;

export interface TicketNotificationsDeps {
  log: NotificationLog;
  notifier: Pick<Notifier, 'notify' | 'isEnabled'>;
  clock: Clock;
  logger: Logger;
  /** The ticket as it is now (a sweep re-reads it). */
  ticket(id: string): Promise<TicketView | undefined>;
  /** This node runs the site's duties. */
  holds(site: string): boolean;
  /** A row `scheduled` longer than this by another node: its node died while delivering. */
  staleAfterMs: number;
}

export class TicketNotifications {
  private readonly deps: TicketNotificationsDeps;
  private sweeping: Promise<unknown> = Promise.resolve();

  constructor(deps: TicketNotificationsDeps) {
    this.deps = deps;
  }

  /** Claim and send; a claim another node made first sends nothing. A log that cannot be written: sent anyway. */
  async notify(event: LoggedEvent, ticket: TicketView): Promise<void> {
    if (!this.deps.notifier.isEnabled) return;
    const isClaimed = await this.deps.log.claim(ticket.id, event, this.iso()).catch((err: unknown) => {
      this.deps.logger.warn({ err, ticket: ticket.id, event }, 'notification log not written; sending anyway');
      return undefined;
    });
    if (isClaimed === false) return;
    this.send(event, ticket, isClaimed === true);
  }

  /** Deliver what is owed to this node's sites; one sweep at a time. Resolves with how many were sent. */
  sweep(): Promise<number> {
    const run = this.sweeping.then(() => this.sweepOnce());
    this.sweeping = run.catch(() => undefined);
    return run;
  }

  private async sweepOnce(): Promise<number> {
    if (!this.deps.notifier.isEnabled) return 0;
    const now = this.deps.clock.now();
    const staleBefore = new Date(now - this.deps.staleAfterMs).toISOString();
    const openedSince = new Date(now - OPENED_OWED_FOR_MS).toISOString();
    let sent = 0;
    for (const owed of await this.deps.log.owed(staleBefore, openedSince)) {
      const ticket = await this.deps.ticket(owed.ticketId);
      if (ticket === undefined || !this.deps.holds(ticket.site ?? '')) continue;
      if (!(await this.deps.log.takeOver(owed, this.iso()))) continue;
      this.deps.logger.info(
        { ticket: ticket.id, event: owed.event, from: owed.row?.node ?? null },
        'notification owed by a node that stopped before it was delivered: sending it now',
      );
      this.send(owed.event, ticket, true);
      sent++;
    }
    return sent;
  }

  private send(event: LoggedEvent, ticket: TicketView, isLogged: boolean): void {
    this.deps.notifier.notify({ event, at: this.iso(), ticket }, (isDelivered) => {
      if (!isLogged) return;
      this.deps.log.done(ticket.id, event, isDelivered, this.iso()).catch((err: unknown) => {
        // left `scheduled`: sent again by a sweep (at least once)
        this.deps.logger.warn({ err, ticket: ticket.id, event }, 'notification delivered but not marked');
      });
    });
  }

  private iso(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}

/** The longest a delivery with every retry can take, with room: rows older than this were left by a dead node. */
export function deliveryStaleAfterMs(config: { maxAttempts: number; retryBaseMs: number }): number {
  const retries = config.retryBaseMs * (2 ** (config.maxAttempts - 1) - 1);
  return Math.max(5 * 60_000, 2 * (retries + config.maxAttempts * 60_000));
}
