/**
 * Site incidents (issue 18): a site alert (agent offline, or most devices of a room network down) becomes a site
 * incident with a lifecycle - open, acknowledged (an engineer, via the API), resolved (when every alert of the site
 * has cleared, or by an engineer) - and notifications to the NOC and the customer's `contactEmail` (e-mail and
 * webhooks, hub/incidents/notifier.ts). Alerts of a site with an unresolved incident join it: one cut, one
 * notification. A planned agent stop (presence `stopping`, sent on SIGTERM) raises nothing until the agent is
 * back online.
 *
 *   GET  /api/site-incidents?state=open|all&limit=N
 *   GET  /api/site-incidents/:id
 *   POST /api/site-incidents/:id/acknowledge  {actor}
 *   POST /api/site-incidents/:id/resolve      {actor, note}
 */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ErrorCode, isAppError } from '../../protocols/errors.ts';
import { dutiesOf } from '../cluster/partition-duties.ts';
import type { HubContext, HubModule } from '../context.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import { parseBody } from '../tickets/routes.ts';
import type { SiteAlert } from '../types.ts';
import { type IncidentEvent, IncidentNotifier } from './notifier.ts';
import { IncidentStore, type SiteIncident } from './store.ts';

const ListQuery = z.strictObject({
  state: z.enum(['open', 'all']).default('open'),
  limit: z.coerce.number().int().min(1).max(10_000).default(200),
});
const AckBody = z.strictObject({ actor: z.string().trim().min(1).max(200) });
const ResolveBody = z.strictObject({
  actor: z.string().trim().min(1).max(200),
  note: z.string().trim().min(1).max(2000),
});

const STATUS: Partial<Record<string, number>> = {
  [ErrorCode.PAYLOAD_INVALID]: 400,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.TRANSITION_NOT_ALLOWED]: 409,
};

export interface IncidentsModule extends HubModule {
  readonly store: IncidentStore;
  readonly notifier: IncidentNotifier;
}

export function createIncidentsModule(ctx: HubContext): IncidentsModule {
  const logger = ctx.logger.child({ component: 'incidents' });
  const store = new IncidentStore(ctx.sql);
  const notifier = new IncidentNotifier(ctx.config.notifications, { clock: ctx.clock, logger });
  const contactOf = new Map(ctx.config.customers.map((c) => [c.id, c.contactEmail]));
  /** Agents that said `stopping` and have not been online since. */
  const planned = new Set<string>();
  /** Per site: the agents whose alert is raised now. */
  const active = new Map<string, Set<string>>();
  const now = () => new Date(ctx.clock.now()).toISOString();

  const customerOf = (alert: SiteAlert): string | null => {
    const registry = ctx.services.registry;
    for (const serial of alert.serials) {
      const customer = registry?.get(serial)?.customer;
      if (customer) return customer;
    }
    return registry?.list().find((d) => d.site === alert.site)?.customer ?? null;
  };

  const announce = (event: IncidentEvent, incident: SiteIncident) => {
    logger.warn({ incident: incident.id, site: incident.site, event }, 'site incident');
    notifier.notify(event, incident, incident.customer ? contactOf.get(incident.customer) : undefined);
  };

  // the store is async: the decisions are taken when the alert arrives (planned stops, active agents, in memory),
  // the incident writes run one after another in arrival order (two alerts of a site open ONE incident)
  const alerts = new SerialQueue((err) => logger.error({ err }, 'site alert handling failed'));

  const duties = dutiesOf(ctx); // issue 16: a site's incidents are run by the holder of its partition
  const onAlert = (alert: SiteAlert): void => {
    if (!duties.holds(alert.site)) return;
    const agents = active.get(alert.site) ?? new Set<string>();
    if (alert.status === 'raised') {
      if (planned.has(alert.agentId)) {
        logger.info({ site: alert.site, agentId: alert.agentId }, 'site alert after a planned agent stop: no incident');
        return;
      }
      agents.add(alert.agentId);
      active.set(alert.site, agents);
      void alerts.push(() => openOrMerge(alert));
      return;
    }
    agents.delete(alert.agentId);
    if (agents.size > 0) return;
    active.delete(alert.site);
    const at = now();
    void alerts.push(() => resolveCleared(alert, at));
  };

  const openOrMerge = async (alert: SiteAlert): Promise<void> => {
    const current = await store.openFor(alert.site);
    if (current) {
      await store.merge(current.id, alert.agentId, alert.reason, alert.serials);
      return;
    }
    announce(
      'site-incident.opened',
      await store.open({
        site: alert.site,
        customer: customerOf(alert),
        agent: alert.agentId,
        reason: alert.reason,
        serials: alert.serials,
        at: alert.at,
      }),
    );
  };

  const resolveCleared = async (alert: SiteAlert, at: string): Promise<void> => {
    const current = await store.openFor(alert.site);
    if (current === undefined) return;
    try {
      announce('site-incident.resolved', await store.resolve(current.id, `site alerts cleared: ${alert.reason}`, at));
    } catch (err) {
      // an engineer resolved it in between (the API): nothing more to say
      if (!isAppError(err) || err.code !== ErrorCode.TRANSITION_NOT_ALLOWED) throw err;
    }
  };

  const handle = async <T>(reply: FastifyReply, fn: () => Promise<T>) => {
    try {
      return reply.code(200).send(await fn());
    } catch (err) {
      if (isAppError(err) && STATUS[err.code] !== undefined) {
        return reply.code(STATUS[err.code] as number).send({ error: err.message, code: err.code });
      }
      logger.error({ err }, 'site incident API request failed');
      return reply.code(500).send({ error: 'internal error', code: ErrorCode.INTERNAL });
    }
  };
  ctx.http.get('/api/site-incidents', { config: { access: 'read' } }, (req, reply) =>
    handle(reply, () => {
      const q = parseBody(ListQuery, req.query, 'query');
      return store.list({ state: q.state }, q.limit);
    }),
  );
  ctx.http.get<{ Params: { id: string } }>('/api/site-incidents/:id', { config: { access: 'read' } }, (req, reply) =>
    handle(reply, () => store.mustGet(req.params.id)),
  );
  ctx.http.post<{ Params: { id: string } }>(
    '/api/site-incidents/:id/acknowledge',
    { config: { access: 'engineer', audit: { action: 'site-incident.acknowledge' } } },
    (req, reply) =>
      handle(reply, async () => {
        const body = parseBody(AckBody, req.body, 'body');
        const incident = await store.acknowledge(req.params.id, req.principal?.name ?? body.actor, now());
        announce('site-incident.acknowledged', incident);
        return incident;
      }),
  );
  ctx.http.post<{ Params: { id: string } }>(
    '/api/site-incidents/:id/resolve',
    { config: { access: 'engineer', audit: { action: 'site-incident.resolve' } } },
    (req, reply) =>
      handle(reply, async () => {
        const body = parseBody(ResolveBody, req.body, 'body');
        const incident = await store.resolve(
          req.params.id,
          `${body.note} (${req.principal?.name ?? body.actor})`,
          now(),
        );
        active.delete(incident.site);
        announce('site-incident.resolved', incident);
        return incident;
      }),
  );

  // Subscribed at creation, before any module starts: this listener runs before the detector's (subscribed in the
  // outage module's start), so a `stopping` is known when the site alert it may cause arrives.
  const offs: (() => void)[] = [
    ctx.bus.on('ingest:presence', (inbound) => {
      const p = inbound.message;
      if (p.status === 'stopping') planned.add(p.agentId);
      else if (p.status === 'online') planned.delete(p.agentId);
    }),
  ];
  return {
    name: 'incidents',
    store,
    notifier,
    async start() {
      await store.migrate();
      offs.push(ctx.bus.on('site-alert', onAlert));
    },
    async stop() {
      for (const off of offs.splice(0)) off();
      await alerts.idle();
      notifier.stop();
    },
  };
}
