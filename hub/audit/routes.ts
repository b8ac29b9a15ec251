/** `GET /api/audit` (admins): the audit trail, oldest first, with filters; page on with `afterId`. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorCode } from '../../protocols/errors.ts';
import { parseOrThrow } from '../../protocols/validation.ts';
import type { AuditStore } from './store.ts';

const AuditQuery = z.strictObject({
  actor: z.string().min(1).max(200).optional(),
  action: z.string().min(1).max(100).optional(),
  target: z.string().min(1).max(200).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  afterId: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

export function registerAuditRoutes(http: FastifyInstance, store: AuditStore): void {
  http.get(
    '/api/audit',
    { config: { access: 'admin', docs: { summary: 'the audit trail' }, zod: { querystring: AuditQuery } } },
    async (request) => store.query(parseOrThrow(AuditQuery, request.query ?? {}, ErrorCode.PAYLOAD_INVALID, 'query')),
  );
}
