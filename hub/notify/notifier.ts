/**
 * Notifications to people and service desks (Jira SM, Zammad, GLPI): e-mail over SMTP and signed webhooks.
 * Each delivery is retried with exponential backoff on the injected clock; failures are logged and counted
 * and never reach the caller (a ticket is never held up or failed by a notification).
 *
 * Webhook: `POST <url>` with the JSON body `{event, at, ticket, sla?}`, headers `X-Hezo-Event: <event>` and
 * `X-Hezo-Signature: sha256=<hex HMAC-SHA256 of the raw body with the webhook's secret>`.
 */
import { createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../../protocols/clock.ts';
import type { NotificationsConfig } from '../config.ts';
import type { SlaEvent, TicketView } from '../types.ts';

export type NotificationEvent = 'ticket.opened' | 'ticket.escalated' | 'sla.warning' | 'sla.breach';

export interface Notification {
  event: NotificationEvent;
  at: string;
  ticket: TicketView;
  sla?: SlaEvent;
}

/** One finished attempt (for tests and diagnostics). */
export interface AttemptResult {
  channel: 'email' | 'webhook';
  target: string;
  event: NotificationEvent;
  attempt: number;
  isOk: boolean;
  /** Delay before the next attempt, or null when done (delivered or given up). */
  retryInMs: number | null;
  error?: string;
}

const WEBHOOK_TIMEOUT_MS = 10_000;

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

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
  /** Emits 'attempt' (AttemptResult) after every attempt. */
  readonly events = new EventEmitter();
  private readonly config: NotificationsConfig;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly counter: Counter<'channel' | 'result'>;
  private readonly timers = new Set<() => void>();
  private transport: Transporter | undefined;
  private isStopped = false;

  constructor(config: NotificationsConfig, deps: { clock: Clock; logger: Logger; metrics: Registry }) {
    this.config = config;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.counter =
      (deps.metrics.getSingleMetric('hezo_notifications_total') as Counter<'channel' | 'result'> | undefined) ??
      new Counter({
        name: 'hezo_notifications_total',
        help: 'Notification attempts by channel and result (ok, retry, failed)',
        labelNames: ['channel', 'result'] as const,
        registers: [deps.metrics],
      });
  }

  get isEnabled(): boolean {
    return this.config.smtp !== undefined || this.config.webhooks.length > 0;
  }

  /** Fire and forget: schedules every delivery; never throws. */
  notify(n: Notification): void {
    if (this.isStopped) return;
    try {
      const smtp = this.config.smtp;
      if (smtp !== undefined) this.deliver('email', smtp.to.join(','), n, () => this.sendMail(n), 1);
      for (const hook of this.config.webhooks) {
        if (hook.events !== undefined && !hook.events.includes(n.event)) continue;
        this.deliver('webhook', hook.url, n, () => this.postWebhook(hook.url, hook.secret, n), 1);
      }
    } catch (err) {
      this.logger.error({ err, event: n.event }, 'notification not scheduled');
    }
  }

  stop(): void {
    this.isStopped = true;
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.transport?.close();
  }

  private deliver(
    channel: 'email' | 'webhook',
    target: string,
    n: Notification,
    send: () => Promise<void>,
    attempt: number,
  ): void {
    send().then(
      () => {
        this.counter.inc({ channel, result: 'ok' });
        this.logger.debug({ channel, target, event: n.event, ticket: n.ticket.id, attempt }, 'notification delivered');
        this.events.emit('attempt', { channel, target, event: n.event, attempt, isOk: true, retryInMs: null });
      },
      (err: unknown) => {
        const error = err instanceof Error ? err.message : String(err);
        const canRetry = attempt < this.config.maxAttempts && !this.isStopped;
        const retryInMs = canRetry ? this.config.retryBaseMs * 2 ** (attempt - 1) : null;
        this.counter.inc({ channel, result: canRetry ? 'retry' : 'failed' });
        const fields = { channel, target, event: n.event, ticket: n.ticket.id, attempt, error, retryInMs };
        if (canRetry) this.logger.warn(fields, 'notification failed, will retry');
        else this.logger.error(fields, 'notification failed, giving up');
        if (retryInMs !== null) {
          const cancel = this.clock.setTimer(retryInMs, () => {
            this.timers.delete(cancel);
            this.deliver(channel, target, n, send, attempt + 1);
          });
          this.timers.add(cancel);
        }
        this.events.emit('attempt', { channel, target, event: n.event, attempt, isOk: false, retryInMs, error });
      },
    );
  }

  private async sendMail(n: Notification): Promise<void> {
    const smtp = this.config.smtp!;
    this.transport ??= nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.username === undefined ? {} : { auth: { user: smtp.username, pass: smtp.password ?? '' } }),
    });
    const { subject, text } = describeNotification(n);
    await this.transport.sendMail({
      from: smtp.from,
      to: smtp.to,
      subject,
      text,
      headers: { 'X-Hezo-Event': n.event, 'X-Hezo-Ticket': n.ticket.id },
    });
  }

  private async postWebhook(url: string, secret: string, n: Notification): Promise<void> {
    const body = JSON.stringify(n);
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'hezo-watch',
        'x-hezo-event': n.event,
        'x-hezo-signature': signBody(secret, body),
      },
      body,
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
  }
}
