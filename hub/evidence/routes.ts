/**
 * `GET /api/tickets/:id/attachments/:name` (interfaces.md): the stored (redacted) bytes, Content-Type by kind,
 * `Content-Disposition: attachment`, ETag = sha256 of the bytes; 404 `{error}` for an unknown ticket or name.
 * Authentication is the API module's global hook (read tokens may download).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { AttachmentInput, TicketService } from '../context.ts';

export function contentTypeFor(kind: string, name: string): string {
  if (kind === 'service-tests' || kind === 'agent-trace' || name.endsWith('.json'))
    return 'application/json; charset=utf-8';
  if (name.endsWith('.tar.gz') || name.endsWith('.tgz') || name.endsWith('.gz')) return 'application/gzip';
  if (name.endsWith('.tar')) return 'application/x-tar';
  if (name.endsWith('.txt') || name.endsWith('.log')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

/** Where the bytes of a stored attachment are (relative paths are under the data folder). */
export function storedFile(dataDir: string, meta: Pick<AttachmentInput, 'storedPath'>): string {
  return isAbsolute(meta.storedPath) ? meta.storedPath : join(dataDir, meta.storedPath);
}

export function registerAttachmentRoute(
  http: FastifyInstance,
  deps: { dataDir: string; tickets: () => TicketService | undefined },
): void {
  http.get<{ Params: { id: string; name: string } }>(
    '/api/tickets/:id/attachments/:name',
    { config: { access: 'read', scope: { ticket: 'params.id' } } },
    async (req, reply) => {
      const { id, name } = req.params;
      const service = deps.tickets();
      if (service?.get(id) === undefined) return reply.code(404).send({ error: `ticket "${id}" not found` });
      const meta = service.attachment(id, name);
      if (meta === undefined) return reply.code(404).send({ error: `ticket "${id}" has no attachment "${name}"` });
      const path = storedFile(deps.dataDir, meta);
      const size = await stat(path).then(
        (s) => s.size,
        () => undefined,
      );
      if (size === undefined) {
        return reply.code(404).send({ error: `attachment "${name}" of ticket "${id}": stored bytes are missing` });
      }
      return reply
        .header('content-type', contentTypeFor(meta.kind, meta.name))
        .header('content-disposition', `attachment; filename="${meta.name.replace(/["\\]/g, '_')}"`)
        .header('content-length', String(size))
        .header('x-content-type-options', 'nosniff')
        .header('etag', `"${meta.sha256}"`)
        .send(createReadStream(path));
    },
  );
}
