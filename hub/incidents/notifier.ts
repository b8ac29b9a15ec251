/**
 * Site incident notifications: e-mail to the NOC (`notifications.smtp.to`) and to the customer's `contactEmail`,
 * and the configured webhooks (events `site-incident.opened`, `.acknowledged`, `.resolved`), signed and retried
 * exactly like ticket notifications (hub/notify/notifier.ts: `X-Hezo-Signature: sha256=<HMAC>`, exponential backoff
 * from `retryBaseMs`, at most `maxAttempts`). Failures are logged and counted, never thrown.
 */
import { EventEmitter } from 'node:events';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import type { NotificationsConfig } from '../config.ts';
import { signBody } from '../notify/notifier.ts';
import type { SiteIncident } from './store.ts';

export type IncidentEvent = 'site-incident.opened' | 'site-incident.acknowledged' | 'site-incident.resolved';

export interface IncidentAttempt {
  channel: 'email' | 'webhook';
  target: string;
  event: IncidentEvent;
  attempt: number;
  isOk: boolean;
  retryInMs: number | null;
  error?: string;
}

const WEBHOOK_TIMEOUT_MS = 10_000;

export function describeIncident(event: IncidentEvent, incident: SiteIncident, audience: 'noc' | 'customer') {
  const what = {
    'site-incident.opened': 'OPEN',
    'site-incident.acknowledged': 'acknowledged',
    'site-incident.resolved': 'resolved',
  }[event];
  const subject = `[HEZO+ site] ${incident.id} ${what}: site ${incident.site} ${
    event === 'site-incident.resolved' ? 'is back' : 'is dark'
  }`;
  const lines = [
    `${incident.id}: site ${incident.site}${incident.customer ? ` of ${incident.customer}` : ''} (${incident.state})`,
    `why: ${incident.reasons.at(-1) ?? '-'}`,
    `devices affected: ${incident.serials.length}${audience === 'noc' ? ` (${incident.serials.slice(0, 50).join(', ')})` : ''}`,
    `opened ${incident.openedAt}`,
  ];
  if (incident.acknowledgedAt)
    lines.push(`acknowledged ${incident.acknowledgedAt} by ${incident.acknowledgedBy ?? '?'}`);
  if (incident.resolvedAt) lines.push(`resolved ${incident.resolvedAt}: ${incident.resolution ?? ''}`);
  if (audience === 'customer' && event === 'site-incident.opened') {
    lines.push(
      '',
      'Our monitoring lost contact with the devices of this site (power or network). The service desk is on it.',
    );
  }
  return { subject, text: lines.join('\n') };
}

export class IncidentNotifier {
  readonly events = new EventEmitter();
  private transport: Transporter | undefined;
  private readonly timers = new Set<() => void>();
  private isStopped = false;

  constructor(
    private readonly config: NotificationsConfig,
    private readonly deps: { clock: Clock; logger: Logger },
  ) {}

  notify(event: IncidentEvent, incident: SiteIncident, customerEmail: string | undefined): void {
    if (this.isStopped) return;
    const smtp = this.config.smtp;
    if (smtp !== undefined) {
      this.deliver('email', smtp.to.join(','), event, () => this.sendMail(smtp.to, event, incident, 'noc'), 1);
      if (customerEmail !== undefined && event !== 'site-incident.acknowledged') {
        this.deliver(
          'email',
          customerEmail,
          event,
          () => this.sendMail([customerEmail], event, incident, 'customer'),
          1,
        );
      }
    }
    for (const hook of this.config.webhooks) {
      if (hook.events !== undefined && !hook.events.includes(event)) continue;
      this.deliver('webhook', hook.url, event, () => this.post(hook.url, hook.secret, event, incident), 1);
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
    event: IncidentEvent,
    send: () => Promise<void>,
    attempt: number,
  ): void {
    send().then(
      () => this.events.emit('attempt', { channel, target, event, attempt, isOk: true, retryInMs: null }),
      (err: unknown) => {
        const error = err instanceof Error ? err.message : String(err);
        const canRetry = attempt < this.config.maxAttempts && !this.isStopped;
        const retryInMs = canRetry ? this.config.retryBaseMs * 2 ** (attempt - 1) : null;
        const fields = { channel, target, event, attempt, error, retryInMs };
        if (canRetry) this.deps.logger.warn(fields, 'site incident notification failed, will retry');
        else this.deps.logger.error(fields, 'site incident notification failed, giving up');
        if (retryInMs !== null) {
          const cancel = this.deps.clock.setTimer(retryInMs, () => {
            this.timers.delete(cancel);
            this.deliver(channel, target, event, send, attempt + 1);
          });
          this.timers.add(cancel);
        }
        this.events.emit('attempt', { channel, target, event, attempt, isOk: false, retryInMs, error });
      },
    );
  }

  private async sendMail(to: string[], event: IncidentEvent, incident: SiteIncident, audience: 'noc' | 'customer') {
    const smtp = this.config.smtp!;
    this.transport ??= nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.username === undefined ? {} : { auth: { user: smtp.username, pass: smtp.password ?? '' } }),
    });
    const { subject, text } = describeIncident(event, incident, audience);
    await this.transport.sendMail({
      from: smtp.from,
      to,
      subject,
      text,
      headers: { 'X-Hezo-Event': event, 'X-Hezo-Incident': incident.id },
    });
  }

  private async post(url: string, secret: string, event: IncidentEvent, incident: SiteIncident) {
    const body = JSON.stringify({ event, at: new Date(this.deps.clock.now()).toISOString(), incident });
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'hezo-watch',
        'x-hezo-event': event,
        'x-hezo-signature': signBody(secret, body),
      },
      body,
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
  }
}
