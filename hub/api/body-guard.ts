/**
 * Every HTTP request body and query string, before any route sees it: JSON nested deeper than MAX_JSON_DEPTH
 * and control characters (other than newline and tab) or Unicode bidi overrides in any string are refused
 * with 400 PAYLOAD_INVALID naming the field. Iterative checks (protocols/json-guard.ts): no stack to overflow.
 */
import type { FastifyInstance } from 'fastify';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { forbiddenCharacter, MAX_JSON_DEPTH, tooDeep } from '../../protocols/json-guard.ts';

function check(where: 'body' | 'query', value: unknown): void {
  if (value === undefined || value === null) return;
  const deep = tooDeep(value);
  if (deep !== undefined) {
    throw new AppError(ErrorCode.PAYLOAD_INVALID, `${where}: ${deep}: nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  const bad = forbiddenCharacter(value);
  if (bad !== undefined) {
    throw new AppError(
      ErrorCode.PAYLOAD_INVALID,
      `${where}: ${bad.path}: control character ${bad.char} not allowed (only newline and tab)`,
    );
  }
}

export function installBodyGuard(http: FastifyInstance): void {
  http.addHook('preValidation', async (request) => {
    check('query', request.query);
    check('body', request.body);
  });
}
