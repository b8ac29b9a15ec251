/**
 * Identity alerts: the agent's `certificate-changed` / `ssh-host-key-changed` events become a visible alert on
 * the device (`identityAlerts` in the API device view and the NOC stream), a note on the device's open tickets,
 * and an admin can accept the new identity:
 *   POST /api/devices/:serial/accept-identity  {channel: 'rest'|'ssh', fingerprint?}
 * sends the `accept-identity` command to the agent of the device's site (the ownership gate refuses any other);
 * the alert clears when that agent replies ok. Provides `ctx.services.identityAlerts`.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { Serial } from '../../protocols/health.ts';
import { neutralizeControls } from '../../protocols/json-guard.ts';
import type { DeviceEvent } from '../../protocols/messages.ts';
import { parseOrThrow } from '../../protocols/validation.ts';
import type { HubContext, HubModule } from '../context.ts';
import type { InboundMessage } from '../events.ts';
import { type IdentityAlert, IdentityAlertStore, type IdentityChannel } from './store.ts';

const SerialParam = z.strictObject({ serial: Serial });
const AcceptBody = z.strictObject({
  channel: z.enum(['rest', 'ssh']),
  /** Default: the fingerprint the alert reported. */
  fingerprint: z.string().min(1).max(200).optional(),
});
const ACCEPT_TIMEOUT_MS = 30_000;

/** `... (was <old>, now <new>)` as the agent writes it. */
export function fingerprintOf(detail: string): string | null {
  const all = [...detail.matchAll(/\bnow ([^\s,()]+)/g)];
  return all.at(-1)?.[1] ?? null;
}

export interface IdentityModule extends HubModule {
  readonly store: IdentityAlertStore;
}

export function createIdentityModule(ctx: HubContext): IdentityModule {
  const { bus, http, clock, logger } = ctx;
  const log = logger.child({ component: 'identity' });
  // another node's alert or acceptance: this node's device view changes too
  const store = new IdentityAlertStore(ctx.sql, ctx.services.changeFeed, (serials) => {
    for (const serial of serials) announce(serial);
  });
  ctx.services.identityAlerts = store;
  const unsubscribe: Array<() => void> = [];

  function announce(serial: string): void {
    const view = ctx.services.devices?.get(serial);
    if (view !== undefined) bus.emit('device', view);
  }

  /** Not awaited (the ticket service stores one ticket's notes in call order); a failure is logged. */
  function noteOpenTickets(serial: string, note: string): void {
    const tickets = ctx.services.ticketService;
    if (tickets === undefined) return;
    const fail = (err: unknown) => log.warn({ err, serial }, 'identity note not added');
    tickets
      .list({ state: 'open' })
      .then((open) => {
        for (const t of open) {
          if (t.serial === serial) tickets.addNote(t.id, 'hub', note, 'internal-note').catch(fail);
        }
      })
      .catch(fail);
  }

  function onEvent(inbound: InboundMessage<DeviceEvent>): void {
    const event = inbound.message;
    if (event.type !== 'certificate-changed' && event.type !== 'ssh-host-key-changed') return;
    const channel: IdentityChannel = event.type === 'certificate-changed' ? 'rest' : 'ssh';
    const alert: IdentityAlert = {
      serial: event.serial,
      channel,
      fingerprint: fingerprintOf(event.detail),
      status: /refused/i.test(event.detail) ? 'refused' : 'accepted-after-reboot',
      // Agent free text reaches people (API, NOC, ticket notes): no control characters or bidi overrides.
      detail: neutralizeControls(event.detail),
      at: event.at,
      agentId: inbound.agentId,
      site: inbound.site,
    };
    // shown at once (the store's in-memory view); the row is written in order, a failure is logged
    store.raise(alert).catch((err: unknown) => log.error({ err, serial: alert.serial }, 'identity alert not stored'));
    const what = channel === 'rest' ? 'REST certificate' : 'SSH host key';
    log.warn({ serial: alert.serial, channel, status: alert.status, agentId: alert.agentId }, `device ${what} changed`);
    noteOpenTickets(
      alert.serial,
      `IDENTITY_CHANGED: the device's ${what} changed (${alert.status}); an admin can accept it with ` +
        `POST /api/devices/${alert.serial}/accept-identity. Agent says: ${alert.detail}`,
    );
    announce(alert.serial);
  }

  http.post('/api/devices/:serial/accept-identity', { config: { access: 'admin' } }, async (request) => {
    const { serial } = parseOrThrow(SerialParam, request.params, ErrorCode.PAYLOAD_INVALID, 'params');
    const body = parseOrThrow(AcceptBody, request.body ?? {}, ErrorCode.PAYLOAD_INVALID, 'body');
    if (ctx.services.registry?.get(serial) === undefined) {
      throw new AppError(ErrorCode.NOT_FOUND, `device ${serial}: not registered`);
    }
    const alert = store.get(serial, body.channel);
    const fingerprint = body.fingerprint ?? alert?.fingerprint ?? undefined;
    if (fingerprint === undefined) {
      throw new AppError(
        ErrorCode.PAYLOAD_INVALID,
        `body: fingerprint: expected one (no ${body.channel} identity alert of ${serial} says which)`,
      );
    }
    const commands = ctx.services.commands;
    const target = commands?.agentFor(serial) ?? (alert ? { site: alert.site, agentId: alert.agentId } : undefined);
    if (commands === undefined || target === undefined) {
      throw new AppError(ErrorCode.AGENT_OFFLINE, `device ${serial}: no agent of its site is known to watch it`);
    }
    const reply = await commands.send(target, {
      v: 1,
      id: `acc-${randomBytes(8).toString('hex')}`,
      kind: 'accept-identity',
      serial,
      issuedAt: new Date(clock.now()).toISOString(),
      timeoutMs: ACCEPT_TIMEOUT_MS,
      identity: { channel: body.channel, fingerprint },
    });
    if (!reply.ok) {
      throw new AppError(ErrorCode.PAYLOAD_INVALID, `agent ${target.agentId} refused: ${reply.code}: ${reply.error}`);
    }
    await store.clear(serial, body.channel);
    log.info({ serial, channel: body.channel, agentId: target.agentId }, 'device identity accepted by an admin');
    noteOpenTickets(serial, `IDENTITY_ACCEPTED: an admin accepted the new ${body.channel} identity ${fingerprint}`);
    announce(serial);
    return { serial, channel: body.channel, fingerprint, accepted: true };
  });

  http.get('/api/identity-alerts', { config: { access: 'read' } }, async () => store.list());

  return {
    name: 'identity',
    store,
    async start() {
      await store.start();
      unsubscribe.push(bus.on('ingest:event', onEvent));
    },
    async stop() {
      for (const off of unsubscribe.splice(0)) off();
      await store.idle();
    },
  };
}
