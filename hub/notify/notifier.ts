/**
 * Ticket notifications to people and service desks (Jira SM, Zammad, GLPI): e-mail over SMTP and signed webhooks
 * (`POST <url>` with the JSON body `{event, at, ticket, sla?}`), delivered and retried by delivery.ts; failures are
 * logged and counted (`hezo_notifications_total`) and never reach the caller.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../../protocols/clock.ts';
import type { NotificationsConfig } from '../config.ts';
import type { SlaEvent, TicketView } from '../types.ts';
import { Deliveries, type DeliveryAttempt, signBody } from './delivery.ts';

export type NotificationEvent = 'ticket.opened' | 'ticket.escalated' | 'sla.warning' | 'sla.breach';

export interface Notification {
  event: NotificationEvent;
  at: string;
  ticket: TicketView;
  sla?: SlaEvent;
}

/** One finished attempt (for tests and diagnostics). */
export type AttemptResult = DeliveryAttempt<NotificationEvent>;
export { signBody };

export function describeNotification(n: Notification): { subject: string; text: string } {
  const t = n.ticket;
  const what: Record<NotificationEvent, string> = {
    'ticket.opened': 'opened',
    'ticket.escalated': 'escalated to P1',
    'sla.warning': `SLA warning: ${n.sla?.clock ?? ''} clock due ${n.sla?.dueAt ?? ''}`,
    'sla.breach': `SLA BREACHED: ${n.sla?.clock ?? ''} clock was due ${n.sla?.dueAt ?? ''}`,
  };
  const subject = `[HEZO+ ${t.priority}] ${t.id} ${what[n.event]}: ${t.title}`;
  const lines = [
    `${t.id} (${t.priority}, ${t.channel}, state ${t.state})`,
    t.title,
    `device ${t.serial}${t.model ? ` (${t.model})` : ''} at site ${t.site ?? '?'} of ${t.customer ?? '?'}`,
    `contract ${t.contract ?? 'none'}, coverage ${t.coverage}`,
    `opened ${t.openedAt}; reaction due ${t.sla.reactionDue ?? '-'}; next update due ${t.sla.nextUpdateDue ?? '-'}`,
  ];
  if (t.summary) lines.push('', t.summary);
  return { subject, text: lines.join('\n') };
}

export class Notifier {
  private readonly config: NotificationsConfig;
  private readonly logger: Logger;
  private readonly delivery: Deliveries<NotificationEvent>;

  constructor(config: NotificationsConfig, deps: { clock: Clock; logger: Logger; metrics: Registry }) {
    this.config = config;
    this.logger = deps.logger;
    const counter =
      (deps.metrics.getSingleMetric('hezo_notifications_total') as Counter<'channel' | 'result'> | undefined) ??
      new Counter({
        name: 'hezo_notifications_total',
        help: 'Notification attempts by channel and result (ok, retry, failed)',
        labelNames: ['channel', 'result'] as const,
        registers: [deps.metrics],
      });
    this.delivery = new Deliveries(config, {
      clock: deps.clock,
      logger: deps.logger,
      what: 'notification',
      onResult: (channel, result) => counter.inc({ channel, result }),
    });
  }

  /** Emits 'attempt' (AttemptResult) after every attempt. */
  get events(): EventEmitter {
    return this.delivery.events;
  }

  get isEnabled(): boolean {
    return this.config.smtp !== undefined || this.config.webhooks.length > 0;
  }

  /**
   * Fire and forget: schedules every delivery; never throws. `onDone` is told once every channel delivered
   * (true) or one gave up (false); not at all when the notifier is stopped first (the delivery is then owed).
   */
  notify(n: Notification, onDone?: (isDelivered: boolean) => void): void {
    if (this.delivery.stopped) return;
    const done = onDone === undefined ? undefined : countDown(this.channelsFor(n.event), onDone);
    try {
      const fields = { ticket: n.ticket.id };
      const smtp = this.config.smtp;
      if (smtp !== undefined) {
        const { subject, text } = describeNotification(n);
        const headers = { 'X-Hezo-Event': n.event, 'X-Hezo-Ticket': n.ticket.id };
        this.delivery.deliver(
          'email',
          smtp.to.join(','),
          n.event,
          () => this.delivery.sendMail({ to: smtp.to, subject, text, headers }),
          fields,
          done,
        );
      }
      for (const hook of this.config.webhooks) {
        if (hook.events !== undefined && !hook.events.includes(n.event)) continue;
        const body = JSON.stringify(n);
        this.delivery.deliver(
          'webhook',
          hook.url,
          n.event,
          () => this.delivery.postWebhook(hook.url, hook.secret, n.event, body),
          fields,
          done,
        );
      }
    } catch (err) {
      this.logger.error({ err, event: n.event }, 'notification not scheduled');
    }
  }

  /** How many deliveries `event` makes (e-mail, and each webhook that takes it). */
  channelsFor(event: NotificationEvent): number {
    const hooks = this.config.webhooks.filter((h) => h.events === undefined || h.events.includes(event)).length;
    return hooks + (this.config.smtp === undefined ? 0 : 1);
  }

  stop(): void {
    this.delivery.stop();
  }
}

/** Calls `onDone` once after `n` results (at once when n is 0): true only if every one was true. */
function countDown(n: number, onDone: (isDelivered: boolean) => void): (isDelivered: boolean) => void {
  let left = n;
  let isAll = true;
  if (n === 0) onDone(true);
  return (isDelivered) => {
    isAll &&= isDelivered;
    left--;
    if (left === 0) onDone(isAll);
  };
}
