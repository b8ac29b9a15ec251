/**
 * Access control in ONE place, for every route and whoever adds it:
 * - `onRoute` keeps the route table (method, url, declared access) for the route-matrix test and OpenAPI;
 * - `onRequest` authenticates (bearer token or session cookie), checks the route's declared `config.access`
 *   against the caller's role (a route without one is admin-only), and the CSRF token of cookie writes;
 * - `preValidation` checks the route's declared `config.scope` (which param or body field names a device, ticket or
 *   contract): a scoped caller asking for another customer's thing gets 404, as if it did not exist;
 * - `preSerialization` filters what scoped callers get back: arrays (or `{items}`) keep only their customers'
 *   rows, a single object of another customer becomes 404. Rows nobody owns are hidden from scoped callers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { applyZodSchema } from '../api/zod-schema.ts';
import { type Authenticator, credentialsFrom } from './authenticate.ts';
import { type Access, isReadMethod, isScoped, mayCall, maySee, type Principal } from './roles.ts';

export type ScopeKind = 'device' | 'ticket' | 'contract' | 'customer';
/** Where the id of a customer's thing is in the request: `{ device: 'params.serial' }`, `{ ticket: 'params.id' }`. */
export type ScopeRule = Partial<Record<ScopeKind, `${'params' | 'body' | 'query'}.${string}`>>;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    scope?: ScopeRule;
    /** The answer is about the caller itself (its session, its tokens): not filtered by customer. */
    isCallerData?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Owner customer of a thing: a customer id, null for nobody's, undefined when it does not exist. */
export type OwnerResolvers = Record<ScopeKind, (id: string) => string | null | undefined>;

export interface RouteEntry {
  method: string;
  url: string;
  access: Access | undefined;
  scope: ScopeRule | undefined;
  schema: unknown;
  docs: { summary?: string; body?: unknown; query?: unknown } | undefined;
}

export const CSRF_HEADER = 'x-csrf-token';

export interface AccessControl {
  /** Every route registered so far (HEAD twins of GET routes left out). */
  routes(): RouteEntry[];
}

const SCOPE_LABEL: Record<ScopeKind, string> = {
  device: 'device',
  ticket: 'ticket',
  contract: 'contract',
  customer: 'customer',
};

function pick(request: FastifyRequest, path: string): string | undefined {
  const [where, key] = path.split('.', 2) as ['params' | 'body' | 'query', string];
  const source = request[where] as Record<string, unknown> | undefined | null;
  const value = source !== null && typeof source === 'object' ? source[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

export function installAccessControl(
  http: FastifyInstance,
  deps: { authenticator: () => Authenticator; owners: OwnerResolvers; logger: Logger },
): AccessControl {
  const table: RouteEntry[] = [];
  const warned = new Set<string>();

  http.addHook('onRoute', (route) => {
    applyZodSchema(route);
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const config = (route.config ?? {}) as { access?: Access; scope?: ScopeRule; docs?: RouteEntry['docs'] };
    for (const method of methods) {
      // fastify adds a HEAD twin to every GET route; it shares the GET route's config.
      if (method === 'HEAD') continue;
      table.push({
        method,
        url: route.url,
        access: config.access,
        scope: config.scope,
        schema: route.schema,
        docs: config.docs,
      });
    }
  });

  http.addHook('onRequest', async (request, reply) => {
    const declared = request.routeOptions.config.access;
    const isUnknownRoute = request.is404;
    let access: Access = declared ?? (isUnknownRoute ? 'read' : 'admin');
    if (declared === undefined && !isUnknownRoute) {
      const key = `${request.method} ${request.routeOptions.url}`;
      if (!warned.has(key)) {
        warned.add(key);
        deps.logger.warn({ route: key }, 'route declares no access: admin only');
      }
    }
    if (access === 'public') return;
    const result = await deps.authenticator().authenticate(credentialsFrom(request.headers));
    if (result.principal === undefined) {
      reply.header('www-authenticate', 'Bearer');
      throw new AppError(
        ErrorCode.UNAUTHENTICATED,
        result.reason === 'expired'
          ? 'session expired: sign in again'
          : result.reason === 'invalid'
            ? 'invalid or revoked token'
            : 'expected Authorization: Bearer <token> or a session cookie',
      );
    }
    const principal = result.principal;
    request.principal = principal;
    if (isUnknownRoute) access = 'read';
    if (!mayCall(access, principal.role, request.method)) {
      throw new AppError(
        ErrorCode.FORBIDDEN,
        principal.role === 'wall'
          ? 'wall access is read-only'
          : `role ${principal.role} may not ${request.method} here`,
      );
    }
    if (principal.kind === 'session' && !isReadMethod(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || sent !== principal.csrfToken) {
        throw new AppError(ErrorCode.CSRF_INVALID, `expected the session's ${CSRF_HEADER} header`);
      }
    }
  });

  // preValidation: the body is parsed but not validated yet, so a scoped caller gets 404 before any 400.
  http.addHook('preValidation', async (request) => {
    const principal = request.principal;
    const scope = request.routeOptions.config.scope;
    if (principal === undefined || scope === undefined || !isScoped(principal)) return;
    for (const [kind, path] of Object.entries(scope) as [ScopeKind, string][]) {
      const id = pick(request, path);
      if (id === undefined) continue;
      const owner = deps.owners[kind](id);
      if (!maySee(principal, owner)) throw new AppError(ErrorCode.NOT_FOUND, `${SCOPE_LABEL[kind]} "${id}" not found`);
    }
  });

  http.addHook('preSerialization', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const principal = request.principal;
    if (principal === undefined || !isScoped(principal) || reply.statusCode >= 400) return payload;
    if (request.routeOptions.config.isCallerData === true) return payload;
    return filterForScope(payload, principal, deps.owners);
  });

  return { routes: () => table.map((r) => ({ ...r })) };
}

function rowVisible(row: unknown, principal: Principal, owners: OwnerResolvers): boolean {
  if (typeof row !== 'object' || row === null) return false;
  const record = row as Record<string, unknown>;
  if ('customer' in record) return maySee(principal, record.customer as string | null);
  if (Array.isArray(record.serials)) {
    // Site alerts: visible when every device named belongs to the caller's customers.
    const serials = record.serials as unknown[];
    return serials.length > 0 && serials.every((s) => typeof s === 'string' && maySee(principal, owners.device(s)));
  }
  if (typeof record.ticketId === 'string') return maySee(principal, owners.ticket(record.ticketId));
  if (typeof record.serial === 'string') return maySee(principal, owners.device(record.serial));
  return false;
}

/** What a scoped caller may see of a response body. */
export function filterForScope(payload: unknown, principal: Principal, owners: OwnerResolvers): unknown {
  if (Array.isArray(payload)) return payload.filter((row) => rowVisible(row, principal, owners));
  if (typeof payload !== 'object' || payload === null) return payload;
  const record = payload as Record<string, unknown>;
  if (Array.isArray(record.items)) {
    return { ...record, items: record.items.filter((row) => rowVisible(row, principal, owners)) };
  }
  if ('customer' in record && !maySee(principal, record.customer as string | null)) {
    throw new AppError(ErrorCode.NOT_FOUND, 'not found');
  }
  if (principal.role === 'customer' && Array.isArray(record.history)) {
    // Internal notes are for staff: a customer's view of a ticket never has them.
    return { ...record, history: record.history.filter((e) => (e as { kind?: string }).kind !== 'internal-note') };
  }
  return payload;
}
