/**
 * Which ticket notifications were sent, shared by every hub node (issue 16): one row per (ticket, event) for
 * `ticket.opened` and `ticket.escalated`. A node claims the row before delivering (the first claim wins, so two
 * nodes never both send one) and marks it done when every channel delivered or gave up. What a node killed in
 * between leaves behind is owed, and the site's holder delivers it (notification-sweep.ts):
 * - an open ticket stored after this log existed whose `ticket.opened` row is missing (killed between the ticket's
 *   commit and the claim),
 * - a row still `scheduled` by a node that died while delivering: this node's own rows from an earlier start, or
 *   another node's rows older than the longest delivery (every retry) can take. Delivered at least once: a node
 *   killed after a webhook answered but before the row was marked sends it again (receivers can tell by the
 *   ticket and event).
 */
import { randomUUID } from 'node:crypto';
import { runMigrations } from '../store/migrations.ts';
import type { SqlStore } from '../store/sql-store.ts';

export type LoggedEvent = 'ticket.opened' | 'ticket.escalated';

const MIGRATIONS = [
  `CREATE TABLE notification_log (
     ticket_id TEXT NOT NULL,
     event TEXT NOT NULL,
     node TEXT NOT NULL,
     boot TEXT NOT NULL,
     state TEXT NOT NULL,
     scheduled_at TEXT NOT NULL,
     done_at TEXT,
     PRIMARY KEY (ticket_id, event))`,
  'CREATE INDEX notification_log_scheduled ON notification_log (state, scheduled_at)',
];

export interface OwedNotification {
  ticketId: string;
  event: LoggedEvent;
  /** The row to take over (absent: no row yet, claim a new one). */
  row?: { node: string; boot: string; scheduledAt: string };
}

export class NotificationLog {
  private readonly sql: SqlStore;
  private readonly node: string;
  /** This process's start (a node's rows from an earlier start were left by a process that died or stopped). */
  private readonly boot: string;

  constructor(sql: SqlStore, node: string, boot: string = randomUUID()) {
    this.sql = sql;
    this.node = node;
    this.boot = boot;
  }

  /** `now`: the ledger's time of the first step, from which missing rows count as owed. */
  async migrate(now: () => string): Promise<void> {
    await runMigrations(this.sql, 'notification-log', MIGRATIONS, now);
  }

  /** Claim (ticket, event) for this node; false when a row exists already (another node has it, or had it). */
  async claim(ticketId: string, event: LoggedEvent, at: string): Promise<boolean> {
    const n = await this.sql.run(
      `INSERT INTO notification_log (ticket_id, event, node, boot, state, scheduled_at)
       VALUES ($1, $2, $3, $4, 'scheduled', $5) ON CONFLICT (ticket_id, event) DO NOTHING`,
      [ticketId, event, this.node, this.boot, at],
    );
    return n === 1;
  }

  /** Take over a row a dead node left `scheduled` (the row as read: two takers, one wins). */
  async takeOver(owed: OwedNotification, at: string): Promise<boolean> {
    if (owed.row === undefined) return this.claim(owed.ticketId, owed.event, at);
    const n = await this.sql.run(
      `UPDATE notification_log SET node = $1, boot = $2, scheduled_at = $3
       WHERE ticket_id = $4 AND event = $5 AND state = 'scheduled' AND node = $6 AND boot = $7 AND scheduled_at = $8`,
      [this.node, this.boot, at, owed.ticketId, owed.event, owed.row.node, owed.row.boot, owed.row.scheduledAt],
    );
    return n === 1;
  }

  async done(ticketId: string, event: LoggedEvent, isDelivered: boolean, at: string): Promise<void> {
    await this.sql.run(
      `UPDATE notification_log SET state = $1, done_at = $2
       WHERE ticket_id = $3 AND event = $4 AND node = $5 AND boot = $6`,
      [isDelivered ? 'delivered' : 'failed', at, ticketId, event, this.node, this.boot],
    );
  }

  /**
   * What is owed now: rows `scheduled` by an earlier start of this node, or by another node before `staleBefore`
   * (never this process's own: their deliveries are still running), and
   * open tickets opened since `openedSince` and since the log exists without a `ticket.opened` row. Oldest first.
   */
  async owed(staleBefore: string, openedSince: string): Promise<OwedNotification[]> {
    const rows = await this.sql.query<{
      ticket_id: string;
      event: string;
      node: string;
      boot: string;
      scheduled_at: string;
    }>(
      `SELECT ticket_id, event, node, boot, scheduled_at FROM notification_log
       WHERE state = 'scheduled' AND NOT (node = $1 AND boot = $2)
         AND (node = $1 OR scheduled_at < $3)
       ORDER BY scheduled_at`,
      [this.node, this.boot, staleBefore],
    );
    const missing = await this.sql.query<{ id: string }>(
      `SELECT t.id FROM tickets t
       WHERE t.is_open = 1 AND t.opened_at >= $1
         AND t.opened_at >= (SELECT MIN(applied_at) FROM schema_migrations WHERE module = 'notification-log')
         AND NOT EXISTS (SELECT 1 FROM notification_log n WHERE n.ticket_id = t.id AND n.event = 'ticket.opened')
       ORDER BY t.seq`,
      [openedSince],
    );
    return [
      ...rows.map((r) => ({
        ticketId: r.ticket_id,
        event: r.event as LoggedEvent,
        row: { node: r.node, boot: r.boot, scheduledAt: r.scheduled_at },
      })),
      ...missing.map((r) => ({ ticketId: r.id, event: 'ticket.opened' as const })),
    ];
  }
}
