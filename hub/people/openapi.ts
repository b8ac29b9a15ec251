/**
 * `GET /api/openapi.json`: an OpenAPI 3.1 description built from the live route table (the access control's
 * onRoute hook sees every route, whoever adds it), so it cannot miss a route. Each operation carries its access
 * level (`x-access`), its path parameters, and the route's JSON schemas where it declares them
 * (`schema.body`/`querystring`/`response`, or zod schemas in `config.docs`, converted with `z.toJSONSchema`).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccessControl, RouteEntry } from './access-control.ts';

export interface RouteDocs {
  summary?: string;
  body?: z.ZodType;
  query?: z.ZodType;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Request schemas for the OpenAPI description of routes that validate with zod in the handler. */
    docs?: RouteDocs;
  }
}

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: unknown): JsonSchema | undefined {
  if (schema === undefined || schema === null) return undefined;
  if (schema instanceof z.ZodType) {
    try {
      return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    } catch {
      return { description: 'see the route' };
    }
  }
  return typeof schema === 'object' ? (schema as JsonSchema) : undefined;
}

/** `/api/tickets/:id` -> `/api/tickets/{id}`. */
export function openApiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}');
}

export function buildOpenApi(routes: readonly RouteEntry[], version: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    if (route.url === '*' || route.method === 'OPTIONS') continue;
    const path = openApiPath(route.url);
    const schema = (route.schema ?? {}) as { body?: unknown; querystring?: unknown; response?: unknown };
    const docs = route.docs ?? {};
    const params = [...route.url.matchAll(/:(\w+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const body = jsonSchema(schema.body) ?? jsonSchema(docs.body);
    // (route.schema holds zod schemas for routes that declare `config.zod`: converted by jsonSchema())
    const query = jsonSchema(schema.querystring) ?? jsonSchema(docs.query);
    const queryParams = Object.entries((query?.properties as Record<string, JsonSchema> | undefined) ?? {}).map(
      ([name, s]) => ({ name, in: 'query', required: ((query?.required as string[]) ?? []).includes(name), schema: s }),
    );
    const operation: Record<string, unknown> = {
      ...(docs.summary !== undefined ? { summary: docs.summary } : {}),
      'x-access': route.access ?? 'admin',
      ...(route.access === 'public' ? { security: [] } : {}),
      parameters: [...params, ...queryParams],
      ...(body !== undefined ? { requestBody: { content: { 'application/json': { schema: body } } } } : {}),
      responses: schema.response ?? { default: { description: 'JSON; errors are {error, code}' } },
    };
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'hezo-watch hub API', version },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        session: { type: 'apiKey', in: 'cookie', name: 'hezo_session' },
      },
    },
    security: [{ bearer: [] }, { session: [] }],
    paths,
  };
}

export function registerOpenApiRoute(http: FastifyInstance, access: AccessControl, version: string): void {
  let cached: JsonSchema | undefined;
  http.get('/api/openapi.json', { config: { access: 'read', isCallerData: true } }, async () => {
    cached ??= buildOpenApi(access.routes(), version);
    return cached;
  });
}
