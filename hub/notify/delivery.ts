/**
 * Delivery of notifications, shared by ticket notifications (notifier.ts) and site incident notifications
 * (hub/incidents/notifier.ts): e-mail over one SMTP transport and signed webhooks, each delivery retried with
 * exponential backoff on the injected clock (`retryBaseMs`, at most `maxAttempts`). Failures are logged and reported,
 * never thrown: a ticket or an incident is never held up or failed by a notification.
 *
 * Webhook: `POST <url>` with a JSON body, headers `X-Hezo-Event: <event>` and
 * `X-Hezo-Signature: sha256=<hex HMAC-SHA256 of the raw body with the webhook's secret>`.
 */
import { createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import type { NotificationsConfig } from '../config.ts';

export type DeliveryChannel = 'email' | 'webhook';

/** One finished attempt (for tests and diagnostics), emitted as 'attempt' on `events`. */
export interface DeliveryAttempt<E extends string> {
  channel: DeliveryChannel;
  target: string;
  event: E;
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

export class Deliveries<E extends string> {
  /** Emits 'attempt' (DeliveryAttempt) after every attempt. */
  readonly events = new EventEmitter();
  private readonly config: NotificationsConfig;
  private readonly deps: {
    clock: Clock;
    logger: Logger;
    /** What is delivered, for log lines ("notification", "site incident notification"). */
    what: string;
    onResult?: (channel: DeliveryChannel, result: 'ok' | 'retry' | 'failed') => void;
  };
  private readonly timers = new Set<() => void>();
  private transport: Transporter | undefined;
  private isStopped = false;

  constructor(config: NotificationsConfig, deps: Deliveries<E>['deps']) {
    this.config = config;
    this.deps = deps;
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  /**
   * Send now and retry on failure; `fields` go into the log lines (ids, never secrets). `onDone` is told once:
   * delivered (true) or given up (false; also when stopped before the next attempt).
   */
  deliver(
    channel: DeliveryChannel,
    target: string,
    event: E,
    send: () => Promise<void>,
    fields: Record<string, unknown> = {},
    onDone?: (isDelivered: boolean) => void,
    attempt = 1,
  ): void {
    const { logger, what } = this.deps;
    send().then(
      () => {
        this.deps.onResult?.(channel, 'ok');
        logger.debug({ channel, target, event, attempt, ...fields }, `${what} delivered`);
        this.emit({ channel, target, event, attempt, isOk: true, retryInMs: null });
        onDone?.(true);
      },
      (err: unknown) => {
        const error = err instanceof Error ? err.message : String(err);
        const canRetry = attempt < this.config.maxAttempts && !this.isStopped;
        const retryInMs = canRetry ? this.config.retryBaseMs * 2 ** (attempt - 1) : null;
        this.deps.onResult?.(channel, canRetry ? 'retry' : 'failed');
        const line = { channel, target, event, attempt, error, retryInMs, ...fields };
        if (canRetry) logger.warn(line, `${what} failed, will retry`);
        else logger.error(line, `${what} failed, giving up`);
        if (retryInMs !== null) {
          const cancel = this.deps.clock.setTimer(retryInMs, () => {
            this.timers.delete(cancel);
            this.deliver(channel, target, event, send, fields, onDone, attempt + 1);
          });
          this.timers.add(cancel);
        } else {
          onDone?.(false);
        }
        this.emit({ channel, target, event, attempt, isOk: false, retryInMs, error });
      },
    );
  }

  /** One e-mail through the configured SMTP server (one transport, made at first use). */
  async sendMail(mail: { to: string[]; subject: string; text: string; headers: Record<string, string> }) {
    const smtp = this.config.smtp;
    if (smtp === undefined) throw new Error('no SMTP server configured');
    this.transport ??= nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.username === undefined ? {} : { auth: { user: smtp.username, pass: smtp.password ?? '' } }),
    });
    await this.transport.sendMail({ from: smtp.from, ...mail });
  }

  /** POST `body` signed with `secret`; anything but 2xx is a failure (retried). */
  async postWebhook(url: string, secret: string, event: E, body: string): Promise<void> {
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

  stop(): void {
    this.isStopped = true;
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.transport?.close();
  }

  private emit(attempt: DeliveryAttempt<E>): void {
    this.events.emit('attempt', attempt);
  }
}
