/**
 * Ticket HTTP API (interfaces.md). Authentication is the hub core's global hook; these are just the routes.
 * Errors answer `{error, code}`: 400 malformed body (zod, naming the field), 404 unknown ticket,
 * 409 disallowed transition, 422 unknown serial / contract not covering it (SLA-15).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../../protocols/clock.ts';
import { AppError, ErrorCode, isAppError } from '../../protocols/errors.ts';
import { Serial } from '../../protocols/health.ts';
import type { HubConfig } from '../config.ts';
import type { DeviceRegistry } from '../context.ts';
import { expiringContracts } from './contracts.ts';
import { TICKET_STATES } from './lifecycle.ts';
import { ListQuery, type TicketPages } from './list-page.ts';
import { TICKET_RESPONSES } from './response-schemas.ts';
import type { TicketsService } from './service.ts';
import type { SiteAlertStore } from './site-alert-store.ts';

/**
 * Who acted is the signed-in caller (`request.principal`), never what the body says; `actor` in a body is accepted
 * for old clients and used only when no access control runs (module tests without the people module).
 */
const Actor = z.string().trim().min(1).max(200).optional();

function actorOf(req: FastifyRequest, given: string | undefined): string {
  return req.principal?.name ?? given ?? 'unknown';
}
const Note = z.string().max(10_000).default('');

export const ManualTicketBody = z.strictObject({
  channel: z.enum(['phone', 'portal', 'email']),
  serial: Serial,
  contract: z.string().trim().min(1).max(64),
  // SLA-4: every new ticket states its priority.
  priority: z.enum(['P1', 'P2', 'P3']),
  reporter: z.string().trim().min(1).max(200),
  description: z.string().trim().min(1).max(10_000),
});

export const TransitionBody = z.strictObject({ to: z.enum(TICKET_STATES), actor: Actor, note: Note });
export const ContactBody = z.strictObject({ actor: Actor, note: z.string().trim().min(1).max(10_000) });
export const DeliveryAgreementBody = z.strictObject({
  dueAt: z.iso.datetime({ offset: true }),
  actor: Actor,
  note: Note,
});
const ExpiringQuery = z.strictObject({ days: z.coerce.number().int().min(0).max(3650).default(60) });
const SiteAlertsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(10_000).default(200) });

const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.PAYLOAD_INVALID]: 400,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.TRANSITION_NOT_ALLOWED]: 409,
  [ErrorCode.UNKNOWN_SERIAL]: 422,
  [ErrorCode.CONTRACT_NOT_COVERING]: 422,
};

/** Parse with zod; a failure is PAYLOAD_INVALID naming every field (`priority: expected one of P1|P2|P3`). */
export function parseBody<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : where}: ${i.message}`);
  throw new AppError(ErrorCode.PAYLOAD_INVALID, details.join('; '), { details });
}

export interface TicketRoutesDeps {
  service: TicketsService;
  siteAlerts: SiteAlertStore;
  config: Readonly<HubConfig>;
  clock: Clock;
  registry: () => DeviceRegistry | undefined;
  pages: TicketPages;
  onError: (err: unknown) => void;
}

export function registerTicketRoutes(http: FastifyInstance, deps: TicketRoutesDeps): void {
  const { service } = deps;

  const fail = (reply: FastifyReply, err: unknown) => {
    if (isAppError(err)) {
      const status = STATUS[err.code] ?? 500;
      if (status === 500) deps.onError(err);
      return reply.code(status).send({ error: err.message, code: err.code });
    }
    deps.onError(err);
    return reply.code(500).send({ error: 'internal error', code: ErrorCode.INTERNAL });
  };

  /** Run a handler; AppErrors become their HTTP status. */
  const handle = async <T>(reply: FastifyReply, status: number, fn: () => Promise<T>) => {
    try {
      return reply.code(status).send(await fn());
    } catch (err) {
      return fail(reply, err);
    }
  };

  // Cached, pre-serialised pages with a cursor (list-page.ts) for callers who see every customer. Scoped callers
  // (customer users, limited walls) get objects, which the access layer's preSerialization hook filters.
  http.get(
    '/api/tickets',
    { schema: { response: TICKET_RESPONSES.list }, config: { access: 'read', docs: { query: ListQuery } } },
    async (req, reply) => {
      try {
        const query = parseBody(ListQuery, req.query, 'query');
        const nextLink = (next: string | null) => {
          if (next === null) return;
          const params = new URLSearchParams({ state: query.state, limit: String(query.limit), cursor: next });
          reply.header('x-next-cursor', next).header('link', `</api/tickets?${params}>; rel="next"`);
        };
        const customers = req.principal?.customers;
        if (customers !== undefined && customers !== 'all') {
          // Filtered by customer in the query, paged like everyone's list (the access layer filters again).
          const scoped = await deps.pages.scopedPage(query, customers);
          nextLink(scoped.next);
          return reply.code(200).send(scoped.views);
        }
        const page = await deps.pages.page(query);
        nextLink(page.next);
        return reply.code(200).type('application/json; charset=utf-8').send(page.body);
      } catch (err) {
        return fail(reply, err);
      }
    },
  );

  http.get<{ Params: { id: string } }>(
    '/api/tickets/:id',
    { schema: { response: TICKET_RESPONSES.one }, config: { access: 'read', scope: { ticket: 'params.id' } } },
    (req, reply) =>
      handle(reply, 200, async () => {
        const ticket = await service.get(req.params.id);
        if (ticket === undefined) throw new AppError(ErrorCode.NOT_FOUND, `ticket "${req.params.id}" not found`);
        return ticket;
      }),
  );

  // 201 with the new ticket; 200 with the device's open automatic ticket (`linkedTo`) when the report joined it.
  http.post(
    '/api/tickets',
    {
      schema: { response: TICKET_RESPONSES.created },
      config: {
        access: 'customer',
        scope: { device: 'body.serial', contract: 'body.contract' },
        audit: { action: 'ticket.open', kind: 'ticket' },
        docs: { body: ManualTicketBody },
      },
    },
    async (req, reply) => {
      try {
        const ticket = await service.createManual(parseBody(ManualTicketBody, req.body, 'body'), req.principal?.name);
        return reply.code(ticket.linkedTo === undefined ? 201 : 200).send(ticket);
      } catch (err) {
        return fail(reply, err);
      }
    },
  );

  http.post<{ Params: { id: string } }>(
    '/api/tickets/:id/transitions',
    {
      schema: { response: TICKET_RESPONSES.one },
      config: {
        access: 'engineer',
        audit: { action: 'ticket.transition', kind: 'ticket', id: 'params.id' },
        docs: { body: TransitionBody },
      },
    },
    (req, reply) =>
      handle(reply, 200, () => {
        const body = parseBody(TransitionBody, req.body, 'body');
        return service.transition(req.params.id, body.to, actorOf(req, body.actor), body.note);
      }),
  );

  http.post<{ Params: { id: string } }>(
    '/api/tickets/:id/contacts',
    {
      schema: { response: { ...TICKET_RESPONSES.one, 201: TICKET_RESPONSES.one[200] } },
      config: {
        access: 'engineer',
        audit: { action: 'ticket.contact', kind: 'ticket', id: 'params.id' },
        docs: { body: ContactBody },
      },
    },
    (req, reply) =>
      handle(reply, 201, () => {
        const body = parseBody(ContactBody, req.body, 'body');
        return service.addContact(req.params.id, actorOf(req, body.actor), body.note);
      }),
  );

  http.post<{ Params: { id: string } }>(
    '/api/tickets/:id/delivery-agreement',
    {
      schema: { response: TICKET_RESPONSES.one },
      config: {
        access: 'customer',
        scope: { ticket: 'params.id' },
        audit: { action: 'ticket.delivery-agreement', kind: 'ticket', id: 'params.id' },
        docs: { body: DeliveryAgreementBody },
      },
    },
    (req, reply) =>
      handle(reply, 200, () => {
        const body = parseBody(DeliveryAgreementBody, req.body, 'body');
        return service.agreeDelivery(req.params.id, Date.parse(body.dueAt), actorOf(req, body.actor), body.note);
      }),
  );

  http.get('/api/site-alerts', { config: { access: 'read' } }, (req, reply) =>
    handle(reply, 200, () => deps.siteAlerts.siteAlerts(parseBody(SiteAlertsQuery, req.query, 'query').limit)),
  );

  http.get('/api/contracts/expiring', { config: { access: 'read' } }, (req, reply) =>
    handle(reply, 200, () => {
      const { days } = parseBody(ExpiringQuery, req.query, 'query');
      return Promise.resolve(expiringContracts(deps.config, deps.registry(), deps.clock.now(), days));
    }),
  );
}
