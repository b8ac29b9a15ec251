/**
 * `GET /api/tickets/:id/attachments/:name` (interfaces.md): the stored (redacted) bytes, Content-Type by kind,
 * `Content-Disposition: attachment`, ETag = sha256 of the bytes; 404 `{error}` for an unknown ticket or name.
 * Authentication is the API module's global hook (read tokens may download). The bytes come from the hub's database
 * (any hub node serves them), else from an earlier hub's file under the data folder (attachment-content.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { TicketService } from '../context.ts';
import type { AttachmentContent } from './attachment-content.ts';

export function contentTypeFor(kind: string, name: string): string {
  if (kind === 'service-tests' || kind === 'agent-trace' || name.endsWith('.json'))
    return 'application/json; charset=utf-8';
  if (name.endsWith('.tar.gz') || name.endsWith('.tgz') || name.endsWith('.gz')) return 'application/gzip';
  if (name.endsWith('.tar')) return 'application/x-tar';
  if (name.endsWith('.txt') || name.endsWith('.log')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

export function registerAttachmentRoute(
  http: FastifyInstance,
  deps: { content: AttachmentContent; tickets: () => TicketService | undefined },
): void {
  http.get<{ Params: { id: string; name: string } }>(
    '/api/tickets/:id/attachments/:name',
    { config: { access: 'read', scope: { ticket: 'params.id' } } },
    async (req, reply) => {
      const { id, name } = req.params;
      const service = deps.tickets();
      if (service === undefined || (await service.get(id)) === undefined) {
        return reply.code(404).send({ error: `ticket "${id}" not found` });
      }
      const meta = await service.attachment(id, name);
      if (meta === undefined) return reply.code(404).send({ error: `ticket "${id}" has no attachment "${name}"` });
      const content = await deps.content.open(meta);
      if (content === undefined) {
        return reply.code(404).send({ error: `attachment "${name}" of ticket "${id}": stored bytes are missing` });
      }
      return reply
        .header('content-type', contentTypeFor(meta.kind, meta.name))
        .header('content-disposition', `attachment; filename="${meta.name.replace(/["\\]/g, '_')}"`)
        .header('content-length', String(content.size))
        .header('x-content-type-options', 'nosniff')
        .header('etag', `"${meta.sha256}"`)
        .send(content.stream);
    },
  );
}
