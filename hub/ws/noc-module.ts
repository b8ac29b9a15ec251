/**
 * Serves the NOC wall page at `/noc/` (index.html) and `/noc/*` (its JS and CSS), read from
 * `dashboards/noc/static/` and cached in memory. The page itself needs no token; it reads its token from
 * `?token=` and uses it for `/ws` and `/api/tickets/:id`. `/` is the pages module's (hub/web/pages-module.ts).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HubContext, HubModule } from '../context.ts';
import { staticFiles } from '../web/static-files.ts';

/** The page's files: dist/noc-static/ in a build (build/build.mjs copies them next to the chunks), else the sources. */
export const NOC_STATIC_DIR =
  ['./noc-static/', '../noc-static/']
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
    .find((dir) => existsSync(dir)) ?? fileURLToPath(new URL('../../dashboards/noc/static/', import.meta.url));

export interface NocModuleOptions {
  /** Folder of the static files (default: dashboards/noc/static). */
  staticDir?: string;
}

export function createNocModule(ctx: HubContext, options: NocModuleOptions = {}): HubModule {
  const serve = staticFiles(options.staticDir ?? NOC_STATIC_DIR);
  ctx.http.get('/noc', { config: { access: 'public' } }, async (_req, reply) => reply.redirect('/noc/'));
  ctx.http.get('/noc/', { config: { access: 'public' } }, async (_req, reply) => serve('index.html', reply));
  ctx.http.get<{ Params: { file: string } }>('/noc/:file', { config: { access: 'public' } }, async (req, reply) =>
    serve(req.params.file, reply),
  );

  return { name: 'noc' };
}
