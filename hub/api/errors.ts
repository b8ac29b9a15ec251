/** Errors as `{error}` with the right status; AppError codes map to HTTP statuses here, once. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { type ErrorCode, isAppError } from '../../protocols/errors.ts';

const STATUS: Partial<Record<ErrorCode, number>> = {
  USAGE: 400,
  CONFIG_INVALID: 400,
  JSON_INVALID: 400,
  PAYLOAD_INVALID: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  UNKNOWN_SERIAL: 422,
  CONTRACT_NOT_COVERING: 422,
  TRANSITION_NOT_ALLOWED: 409,
  ATTACHMENT_TOO_LARGE: 413,
  CHECKSUM_MISMATCH: 422,
  COMMAND_TIMEOUT: 504,
  AGENT_OFFLINE: 503,
  UNAUTHENTICATED: 401,
  CSRF_INVALID: 403,
  TOO_MANY_ATTEMPTS: 429,
  DUPLICATE_KEY: 409,
  REFERENCE_INVALID: 422,
  IN_USE: 409,
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isAppError(err)) {
      const status = statusOf(err.code);
      if (status >= 500) request.log.error({ err }, 'request failed');
      return reply.status(status).send({ error: err.message, code: err.code });
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.status(500).send({ error: 'internal error' });
    }
    return reply.status(status).send({ error: err.message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
}
