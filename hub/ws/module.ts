/**
 * `GET /ws`: the live stream of device, ticket, SLA and site-alert state (interfaces.md).
 * Upgrades on the fastify server's 'upgrade' event (noServer), authenticates with an admin or read-only token
 * (`?token=` or `Authorization: Bearer`), then hands the socket to the fan-out engine (stream.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Counter } from 'prom-client';
import { WebSocketServer } from 'ws';
import type { HubContext, HubModule } from '../context.ts';
import { hubNodeId } from '../node-id.ts';
import type { Principal } from '../people/roles.ts';
import type { DeviceView, SiteAlert, TicketView } from '../types.ts';
import { checkToken, tokenFromRequest } from './auth.ts';
import { MAX_CLIENT_PAYLOAD_BYTES, type ProgressItem } from './messages.ts';
import { raisedSiteAlerts } from './restored-site-alerts.ts';
import { ScopedStreams } from './scoped-streams.ts';
import { sharedRaisedSiteAlerts } from './shared-site-alerts.ts';
import { LiveStream } from './stream.ts';

export const WS_PATH = '/ws';

export interface WsModule extends HubModule {
  readonly stream: LiveStream;
}

const CLOSED_TICKET_STATES = new Set(['closed', 'rejected']);

export function isOpenTicket(ticket: TicketView): boolean {
  return !CLOSED_TICKET_STATES.has(ticket.state);
}

const STATUS_TEXT = { 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' } as const;

function rejectUpgrade(socket: Duplex, status: keyof typeof STATUS_TEXT, reason: string): void {
  const body = JSON.stringify({ error: reason });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export function createWsModule(ctx: HubContext): WsModule {
  const log = ctx.logger.child({ component: 'ws' });
  const cfg = ctx.config.ws;
  /** Raised site alerts (no other module keeps them), plus fallbacks used when no directory is wired. */
  const siteAlerts = new Map<string, SiteAlert>();
  const devicesSeen = new Map<string, DeviceView>();
  const ticketsSeen = new Map<string, TicketView>();
  /** Long tasks still running (agent heartbeats, evidence transfers); finished ones are dropped. */
  const progress = new Map<string, ProgressItem>();
  const trackProgress = (item: ProgressItem): void => {
    if (item.done >= item.total) progress.delete(item.key);
    else progress.set(item.key, item);
    stream.publishProgress(item);
    scoped.publishProgress(item);
  };

  const streamOptions = {
    clock: ctx.clock,
    logger: log,
    pingIntervalMs: cfg.pingIntervalMs,
    maxBufferedBytes: cfg.maxBufferedBytes,
    coalesceMs: cfg.coalesceMs,
    stuckClientTimeoutMs: cfg.stuckClientTimeoutMs,
    node: hubNodeId(ctx.config),
  };
  const snapshot = () => ({
    devices: ctx.services.devices?.list() ?? [...devicesSeen.values()],
    // open tickets as the stream's deltas left them (loaded at start: the ticket store is async, issue 16)
    tickets: [...ticketsSeen.values()],
    siteAlerts: [...siteAlerts.values()],
    progress: [...progress.values()],
  });
  const stream = new LiveStream({ ...streamOptions, metrics: ctx.metrics, snapshot });
  /** Customer users and limited wall users: only their customers' frames (hub/ws/scoped-streams.ts). */
  const scoped = new ScopedStreams(streamOptions, snapshot, {
    device: (serial) => ctx.services.registry?.get(serial)?.customer ?? ctx.services.devices?.get(serial)?.customer,
    ticket: (id) => ctx.services.tickets?.ownerOf(id),
  });
  const authFailures = new Counter({
    name: 'hezo_ws_auth_failures_total',
    help: 'Websocket upgrades refused for a missing or wrong token',
    registers: [ctx.metrics],
  });
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    maxPayload: MAX_CLIENT_PAYLOAD_BYTES,
  });
  const server = ctx.http.server;
  const unsubscribe: Array<() => void> = [];

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    if (url.pathname !== WS_PATH) {
      // Another module may serve other upgrade paths; answer 404 only when nobody else listens.
      if (server.listenerCount('upgrade') === 1) rejectUpgrade(socket, 404, 'no websocket at this path');
      return;
    }
    void authenticateAndUpgrade(req, url, socket, head);
  };

  // Through the people module when the hub has one (personal tokens, session cookies, scope); else config tokens.
  // Asynchronous (the people store is a database), so the upgrade completes after the answer.
  async function authenticateAndUpgrade(req: IncomingMessage, url: URL, socket: Duplex, head: Buffer): Promise<void> {
    const people = ctx.services.people;
    let principal: Pick<Principal, 'customers'> | undefined;
    try {
      principal = people
        ? await people.authenticateUpgrade(req, url)
        : checkToken(ctx.config, tokenFromRequest(req, url)) !== null
          ? { customers: 'all' as const }
          : undefined;
    } catch (err) {
      ctx.logger.error({ err }, 'websocket authentication failed');
      rejectUpgrade(socket, 503, 'authentication unavailable');
      return;
    }
    if (socket.destroyed) return;
    if (principal === undefined) {
      authFailures.inc();
      rejectUpgrade(socket, 401, 'missing or invalid token');
      return;
    }
    const target = principal.customers === 'all' ? stream : scoped.streamFor(principal);
    wss.handleUpgrade(req, socket, head, (ws) => target.addClient(ws));
  }

  let closing: Promise<void> | undefined;
  /** Idempotent: runs when the HTTP server starts closing (websocket clients would keep it open) or at stop. */
  function closeStream(): Promise<void> {
    closing ??= (async () => {
      server.off('upgrade', onUpgrade);
      for (const off of unsubscribe.splice(0)) off();
      await stream.stop();
      await scoped.stop();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    })();
    return closing;
  }
  // Upgraded sockets are not HTTP connections: fastify's close would wait for them forever. Close them first.
  ctx.http.addHook('preClose', closeStream);

  ctx.http.get(WS_PATH, { config: { access: 'public' } }, async (_req, reply) =>
    reply.code(426).header('Upgrade', 'websocket').send({ error: 'expected a websocket upgrade' }),
  );

  return {
    name: 'ws',
    stream,
    async start() {
      const { bus } = ctx;
      const showSiteAlert = (alert: SiteAlert): void => {
        const key = `${alert.site}/${alert.agentId}`;
        if (alert.status === 'raised') siteAlerts.set(key, alert);
        else siteAlerts.delete(key);
        stream.publishSiteAlert(alert);
        scoped.publishSiteAlert(alert);
      };
      for (const alert of await raisedSiteAlerts(ctx.sql)) siteAlerts.set(`${alert.site}/${alert.agentId}`, alert);
      for (const alert of await sharedRaisedSiteAlerts(ctx)) siteAlerts.set(`${alert.site}/${alert.agentId}`, alert);
      for (const ticket of (await ctx.services.tickets?.list({ state: 'open' })) ?? []) {
        ticketsSeen.set(ticket.id, ticket);
      }
      const onTicket = ({ ticket }: { ticket: TicketView }) => {
        if (isOpenTicket(ticket)) ticketsSeen.set(ticket.id, ticket);
        else ticketsSeen.delete(ticket.id);
        stream.publishTicket(ticket);
        scoped.publishTicket(ticket);
      };
      unsubscribe.push(
        bus.on('device', (device) => {
          // The fallback for a hub without a device directory only (no view kept alive per device otherwise).
          if (ctx.services.devices === undefined) devicesSeen.set(device.serial, device);
          stream.publishDevice(device);
          scoped.publishDevice(device);
        }),
        bus.on('ticket', onTicket),
        // another hub node's ticket change (change feed): this node's stream shows it too
        bus.on('ticket-elsewhere', onTicket),
        bus.on('sla', (event) => {
          stream.publishSla(event);
          scoped.publishSla(event);
        }),
        bus.on('ingest:heartbeat', ({ message, agentId }) => {
          const at = new Date(ctx.clock.now()).toISOString();
          const reported = new Set<string>();
          for (const p of message.progress ?? []) {
            const key = `${agentId}:${p.task}`;
            reported.add(key);
            trackProgress({ key, source: agentId, task: p.task, done: p.done, total: p.total, unit: 'items', at });
          }
          // A task the agent no longer reports has finished.
          for (const [key, item] of progress) {
            if (item.source === agentId && !reported.has(key)) trackProgress({ ...item, done: item.total, at });
          }
        }),
        bus.on('attachment-progress', (p) =>
          trackProgress({
            key: `hub:${p.transferId}`,
            source: 'hub',
            task: `evidence ${p.name} for ${p.ticketId} (${p.serial})`,
            done: p.receivedBytes,
            total: p.size,
            unit: 'bytes',
            at: new Date(ctx.clock.now()).toISOString(),
          }),
        ),
        bus.on('site-alert', showSiteAlert),
        bus.on('site-alert-followed', showSiteAlert), // another hub node's (issue 16)
      );
      server.on('upgrade', onUpgrade);
      stream.start();
      scoped.start();
    },
    stop: closeStream,
  };
}
