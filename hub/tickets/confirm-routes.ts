/**
 * `POST /api/tickets/:id/confirm-recovery {note?}`: the customer (or staff for them) confirms the device works
 * again, closing the ticket from `acknowledged` or `verifying` (the lifecycle's rule: 409 from any other state).
 * The history names the signed-in person.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorCode } from '../../protocols/errors.ts';
import { parseOrThrow } from '../../protocols/validation.ts';
import type { TicketsService } from './service.ts';

const ConfirmBody = z.strictObject({ note: z.string().trim().max(10_000).optional() });

export function registerConfirmRoute(http: FastifyInstance, service: TicketsService): void {
  http.post<{ Params: { id: string } }>(
    '/api/tickets/:id/confirm-recovery',
    {
      config: {
        access: 'customer',
        scope: { ticket: 'params.id' },
        audit: { action: 'ticket.confirm-recovery', kind: 'ticket', id: 'params.id' },
        docs: { summary: 'the customer confirms the device works again (closes the ticket)' },
        zod: { body: ConfirmBody },
      },
    },
    async (request) => {
      const { note } = parseOrThrow(ConfirmBody, request.body ?? {}, ErrorCode.PAYLOAD_INVALID, 'body');
      const who = request.principal?.name ?? 'unknown';
      return service.transition(request.params.id, 'closed', who, note ?? 'recovery confirmed by the customer');
    },
  );
}
