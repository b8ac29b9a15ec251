/**
 * `POST /api/tickets/:id/notes {text, visibility?}`: a note on a ticket by the signed-in caller. Staff choose
 * `internal` (default for staff; never shown to the customer) or `customer` (visible in the portal); a customer's
 * own notes are always visible to it. 201 with the ticket.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { parseOrThrow } from '../../protocols/validation.ts';
import type { TicketsService } from './service.ts';

const NoteBody = z.strictObject({
  text: z.string().trim().min(1).max(10_000),
  visibility: z.enum(['internal', 'customer']).optional(),
});

export function registerNoteRoutes(http: FastifyInstance, service: TicketsService): void {
  http.post<{ Params: { id: string } }>(
    '/api/tickets/:id/notes',
    {
      config: {
        access: 'customer',
        scope: { ticket: 'params.id' },
        audit: { action: 'ticket.note', kind: 'ticket', id: 'params.id' },
        zod: { body: NoteBody },
      },
    },
    async (request, reply) => {
      const body = parseOrThrow(NoteBody, request.body ?? {}, ErrorCode.PAYLOAD_INVALID, 'body');
      const principal = request.principal;
      const isCustomer = principal?.role === 'customer';
      if (isCustomer && body.visibility === 'internal')
        throw new AppError(ErrorCode.FORBIDDEN, 'visibility: a customer note is always visible to the customer');
      const visibility = body.visibility ?? (isCustomer ? 'customer' : 'internal');
      if ((await service.get(request.params.id)) === undefined)
        throw new AppError(ErrorCode.NOT_FOUND, `ticket "${request.params.id}" not found`);
      const ticket = await service.addNote(
        request.params.id,
        principal?.name ?? 'unknown',
        body.text,
        visibility === 'internal' ? 'internal-note' : 'note',
      );
      return reply.code(201).send({ ...ticket, history: (await service.get(ticket.id))?.history ?? [] });
    },
  );
}
