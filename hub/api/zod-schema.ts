/**
 * Zod request schemas used by fastify itself. A route declares `config: { zod: { body?, params?, querystring? } }`;
 * `applyZodSchema` (called from the access control's onRoute hook, so for every route whoever adds it) sets the
 * route's `schema` to them (the route table and `/api/openapi.json` carry it) and a validator compiler that runs
 * them before the handler: the request part is replaced with the parsed value (defaults applied), and a failure
 * answers the one error model, 400 `PAYLOAD_INVALID` `{error: "body: name: ...", code}`.
 */
import type { FastifySchemaCompiler, RouteOptions } from 'fastify';
import type { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { describeIssues } from '../../protocols/validation.ts';

export interface ZodParts {
  body?: z.ZodType;
  params?: z.ZodType;
  querystring?: z.ZodType;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Request schemas fastify validates with (hub/api/zod-schema.ts). */
    zod?: ZodParts;
  }
}

const WHERE: Record<string, string> = { body: 'body', params: 'params', querystring: 'query', headers: 'headers' };

export const compileZod: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data: unknown) => {
    const result = schema.safeParse(data ?? {}, { reportInput: true });
    if (result.success) return { value: result.data };
    const lines = describeIssues(result.error.issues);
    const where = WHERE[httpPart ?? 'body'] ?? 'body';
    return { error: new AppError(ErrorCode.PAYLOAD_INVALID, `${where}: ${lines.join('; ')}`, { details: lines }) };
  };

/** Give a route that declares `config.zod` its schema and the zod validator (no-op otherwise). */
export function applyZodSchema(route: RouteOptions): void {
  const parts = (route.config as { zod?: ZodParts } | undefined)?.zod;
  if (parts === undefined || route.schema !== undefined) return;
  route.schema = { ...parts };
  route.validatorCompiler = compileZod as unknown as RouteOptions['validatorCompiler'];
}
