/**
 * Every change through the API is audited here, in one place: each non-GET request that succeeds appends one row
 * with the caller, its address, the route's declared `config.audit` action and target, the target's state before
 * (from a snapshot reader, when the route names a kind) and the answer as "after". A handler can refine the row
 * through `request.auditDetail`; a route opts out with `audit: false` (it then records its own rows, e.g. sign-in).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isReadMethod } from '../people/roles.ts';
import type { AuditInput, AuditStore } from './store.ts';

export type SnapshotKind = 'ticket' | 'device' | 'contract' | 'customer' | 'site' | 'agent' | 'user' | 'maintenance';

export interface AuditRouteConfig {
  /** `ticket.transition`, `device.update`, ... */
  action: string;
  /** The kind of thing changed and where its id is: the row's target is `<kind>:<id>`. */
  kind?: SnapshotKind;
  id?: `${'params' | 'body'}.${string}`;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    audit?: AuditRouteConfig | false;
  }
  interface FastifyRequest {
    auditBefore?: unknown;
    auditAfter?: unknown;
    /** Set by a handler to refine its audit row (e.g. a target id known only after create). */
    auditDetail?: Partial<Pick<AuditInput, 'action' | 'target' | 'before' | 'after'>>;
  }
}

export type SnapshotReaders = Partial<Record<SnapshotKind, (id: string) => unknown>>;

function idOf(request: FastifyRequest, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const [where, key] = path.split('.', 2) as ['params' | 'body', string];
  const source = request[where] as Record<string, unknown> | undefined | null;
  const value = source !== null && typeof source === 'object' ? source[key] : undefined;
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

export function actorOf(request: FastifyRequest): AuditInput['actor'] {
  const p = request.principal;
  return p === undefined ? { id: 'anonymous', name: 'anonymous' } : { id: p.id, name: p.name, role: p.role };
}

export function installAuditTrail(
  http: FastifyInstance,
  deps: { store: () => AuditStore | undefined; snapshots: SnapshotReaders },
): void {
  http.addHook('preHandler', async (request) => {
    if (isReadMethod(request.method)) return;
    const audit = request.routeOptions.config.audit;
    if (audit === undefined || audit === false || audit.kind === undefined) return;
    const id = idOf(request, audit.id);
    if (id !== undefined) request.auditBefore = await deps.snapshots[audit.kind]?.(id);
  });

  http.addHook('preSerialization', async (request, _reply, payload: unknown) => {
    if (!isReadMethod(request.method)) request.auditAfter = payload;
    return payload;
  });

  http.addHook('onSend', async (request, reply, payload) => {
    if (isReadMethod(request.method) || reply.statusCode >= 400 || request.is404) return payload;
    const audit = request.routeOptions.config.audit;
    if (audit === false) return payload;
    const store = deps.store();
    if (store === undefined) return payload;
    // A create names its new thing in the answer (`{id}`, `{number}`, `{serial}`, `{name}`).
    const created = request.auditAfter as Record<string, unknown> | undefined;
    const createdId = created?.id ?? created?.number ?? created?.serial ?? created?.name;
    const id = idOf(request, audit?.id) ?? (typeof createdId === 'string' ? createdId : undefined);
    const detail = request.auditDetail ?? {};
    const params = Object.values((request.params ?? {}) as Record<string, string>);
    await store.record({
      actor: actorOf(request),
      address: request.ip,
      action: detail.action ?? audit?.action ?? `${request.method} ${request.routeOptions.url ?? request.url}`,
      target:
        detail.target ??
        (audit?.kind !== undefined && id !== undefined ? `${audit.kind}:${id}` : params.join('/') || undefined),
      before: detail.before ?? request.auditBefore,
      after: detail.after ?? request.auditAfter,
    });
    return payload;
  });
}
