/**
 * Serves the NOC wall page: `GET /` (index.html) and `GET /noc/*` (its JS and CSS), read from
 * `dashboards/noc/static/` and cached in memory. The page itself needs no token; it reads its token from
 * `?token=` and uses it for `/ws` and `/api/tickets/:id`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { HubContext, HubModule } from '../context.ts';

/** The page's files: dist/noc-static/ in a build (build/build.mjs copies them next to the chunks), else the sources. */
export const NOC_STATIC_DIR =
  ['./noc-static/', '../noc-static/']
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
    .find((dir) => existsSync(dir)) ?? fileURLToPath(new URL('../../dashboards/noc/static/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const FILE_NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

export interface NocModuleOptions {
  /** Folder of the static files (default: dashboards/noc/static). */
  staticDir?: string;
}

export function createNocModule(ctx: HubContext, options: NocModuleOptions = {}): HubModule {
  const dir = options.staticDir ?? NOC_STATIC_DIR;
  const cache = new Map<string, Buffer>();

  async function load(name: string): Promise<Buffer | undefined> {
    const hit = cache.get(name);
    if (hit !== undefined) return hit;
    try {
      const bytes = await readFile(`${dir}/${name}`);
      cache.set(name, bytes);
      return bytes;
    } catch {
      return undefined;
    }
  }

  async function serve(name: string, reply: import('fastify').FastifyReply) {
    const match = FILE_NAME.exec(name);
    const bytes = match === null ? undefined : await load(name);
    if (match === null || bytes === undefined) return reply.code(404).send({ error: 'not found' });
    return reply
      .header('Content-Type', CONTENT_TYPES[match[1] ?? ''] ?? 'application/octet-stream')
      .header('Cache-Control', 'no-cache')
      .header('Content-Security-Policy', CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      .send(bytes);
  }

  ctx.http.get('/', { config: { access: 'public' } }, async (_req, reply) => serve('index.html', reply));
  ctx.http.get('/noc', { config: { access: 'public' } }, async (_req, reply) => reply.redirect('/noc/'));
  ctx.http.get('/noc/', { config: { access: 'public' } }, async (_req, reply) => serve('index.html', reply));
  ctx.http.get<{ Params: { file: string } }>('/noc/:file', { config: { access: 'public' } }, async (req, reply) =>
    serve(req.params.file, reply),
  );

  return { name: 'noc' };
}
