/**
 * Site incident notifications: e-mail to the NOC (`notifications.smtp.to`) and to the customer's `contactEmail`,
 * and the configured webhooks (events `site-incident.opened`, `.acknowledged`, `.resolved`), signed and retried
 * exactly like ticket notifications (hub/notify/notifier.ts: `X-Hezo-Signature: sha256=<HMAC>`, exponential backoff
 * from `retryBaseMs`, at most `maxAttempts`). Failures are logged and counted, never thrown.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import type { NotificationsConfig } from '../config.ts';
import { Deliveries, type DeliveryAttempt } from '../notify/delivery.ts';
import type { SiteIncident } from './store.ts';

export type IncidentEvent = 'site-incident.opened' | 'site-incident.acknowledged' | 'site-incident.resolved';

export type IncidentAttempt = DeliveryAttempt<IncidentEvent>;

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
  private readonly delivery: Deliveries<IncidentEvent>;

  constructor(
    private readonly config: NotificationsConfig,
    private readonly deps: { clock: Clock; logger: Logger },
  ) {
    this.delivery = new Deliveries(config, { ...deps, what: 'site incident notification' });
  }

  /** Emits 'attempt' (IncidentAttempt) after every attempt. */
  get events(): EventEmitter {
    return this.delivery.events;
  }

  notify(event: IncidentEvent, incident: SiteIncident, customerEmail: string | undefined): void {
    if (this.delivery.stopped) return;
    const fields = { incident: incident.id };
    const smtp = this.config.smtp;
    if (smtp !== undefined) {
      this.delivery.deliver(
        'email',
        smtp.to.join(','),
        event,
        () => this.sendMail(smtp.to, event, incident, 'noc'),
        fields,
      );
      if (customerEmail !== undefined && event !== 'site-incident.acknowledged') {
        this.delivery.deliver(
          'email',
          customerEmail,
          event,
          () => this.sendMail([customerEmail], event, incident, 'customer'),
          fields,
        );
      }
    }
    for (const hook of this.config.webhooks) {
      if (hook.events !== undefined && !hook.events.includes(event)) continue;
      const body = JSON.stringify({ event, at: new Date(this.deps.clock.now()).toISOString(), incident });
      this.delivery.deliver(
        'webhook',
        hook.url,
        event,
        () => this.delivery.postWebhook(hook.url, hook.secret, event, body),
        fields,
      );
    }
  }

  stop(): void {
    this.delivery.stop();
  }

  private sendMail(to: string[], event: IncidentEvent, incident: SiteIncident, audience: 'noc' | 'customer') {
    const { subject, text } = describeIncident(event, incident, audience);
    return this.delivery.sendMail({
      to,
      subject,
      text,
      headers: { 'X-Hezo-Event': event, 'X-Hezo-Incident': incident.id },
    });
  }
}
