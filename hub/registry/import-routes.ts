/** `POST /api/import` (admins): the same CSV as `hezo import` (text/csv body); 201 with counts, 400 naming every bad row. */
import type { FastifyInstance } from 'fastify';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { ChangeFeed } from '../store/change-feed.ts';
import type { SqlStore } from '../store/sql-store.ts';
import type { CustomerDirectory } from './customers.ts';
import { importCsv } from './import.ts';
import type { Registry } from './registry.ts';

export const IMPORT_MAX_BYTES = 20 * 1024 * 1024;

export function registerImportRoutes(
  http: FastifyInstance,
  deps: { sql: SqlStore; registry: Registry; customers: CustomerDirectory; now: () => number; feed?: ChangeFeed },
): void {
  http.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: IMPORT_MAX_BYTES }, (_req, body, done) =>
    done(null, body),
  );
  http.post(
    '/api/import',
    { bodyLimit: IMPORT_MAX_BYTES, config: { access: 'admin', audit: { action: 'registry.import' } } },
    async (request, reply) => {
      if (typeof request.body !== 'string')
        throw new AppError(ErrorCode.PAYLOAD_INVALID, 'body: expected Content-Type: text/csv');
      const result = await importCsv(request.body, deps);
      request.auditDetail = { target: 'registry', after: result };
      return reply.code(201).send(result);
    },
  );
}
