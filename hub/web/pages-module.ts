/**
 * The people's pages (issue 15): `/signin`, `/desk/` (engineers), `/portal/` (customers) and their shared
 * files under `/web/*` (dashboards/web/), `/favicon.ico`, and `/`: a wall token in the URL opens the NOC wall as
 * before (`/noc/?token=`), a signed-in person (session cookie) goes straight to their page, anyone else to `/signin`.
 * Also `GET /api/calendars`: the caller's customers' time zones and whether their business hours are open now, so
 * the pages can say "paused until Mon 08:00" and show the customer's clock.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createCalendarResolver } from '../calendar/business-calendar.ts';
import type { BusinessCalendarConfig } from '../config.ts';
import type { HubContext, HubModule } from '../context.ts';
import { maySee } from '../people/roles.ts';
import { ALLOWED_TRANSITIONS } from '../tickets/lifecycle.ts';
import { wordsScript } from '../tickets/words.ts';
import { homePathOf } from './home-path.ts';
import { staticFiles } from './static-files.ts';

/** The pages' files: dist/web-static/ in a build (build/build.mjs copies them next to the chunks), else the sources. */
export const WEB_STATIC_DIR =
  ['./web-static/', '../web-static/']
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
    .find((dir) => existsSync(dir)) ?? fileURLToPath(new URL('../../dashboards/web/', import.meta.url));

/** Paths of this module that need no token (the pages ask for one, or for a session, themselves). */
export function isPagePath(path: string): boolean {
  return (
    path === '/favicon.ico' ||
    path === '/signin' ||
    path === '/desk' ||
    path === '/portal' ||
    /^\/(web|desk|portal)\//.test(path)
  );
}

/** `/?token=T[&hubs=URL,URL]`: a NOC wall's URL. */
type WallQuery = { token?: string; hubs?: string };

export function createPagesModule(ctx: HubContext, options: { staticDir?: string } = {}): HubModule {
  const serve = staticFiles(options.staticDir ?? WEB_STATIC_DIR);
  const { http } = ctx;

  http.get<{ Querystring: WallQuery }>('/', { config: { access: 'public' } }, async (req, reply) => {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    // `hubs`: the other hub nodes the wall moves to when this one dies (dashboards/noc/static/noc-hubs.js)
    const hubs = typeof req.query.hubs === 'string' ? `&hubs=${encodeURIComponent(req.query.hubs)}` : '';
    if (token !== '') return reply.redirect(`/noc/?token=${encodeURIComponent(token)}${hubs}`);
    const principal = await ctx.services.people?.authenticateUpgrade(req.raw, new URL('/', 'http://hub'));
    return reply.redirect(homePathOf(principal?.role));
  });
  http.get('/favicon.ico', { config: { access: 'public' } }, async (_req, reply) => serve('favicon.svg', reply));
  http.get('/signin', { config: { access: 'public' } }, async (_req, reply) => serve('signin.html', reply));
  http.get('/desk', { config: { access: 'public' } }, async (_req, reply) => reply.redirect('/desk/'));
  http.get('/desk/', { config: { access: 'public' } }, async (_req, reply) => serve('desk.html', reply));
  http.get('/portal', { config: { access: 'public' } }, async (_req, reply) => reply.redirect('/portal/'));
  http.get('/portal/', { config: { access: 'public' } }, async (_req, reply) => serve('portal.html', reply));
  const words = wordsScript();
  http.get('/web/hezo-words.js', { config: { access: 'public' } }, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(words),
  );
  http.get<{ Params: { file: string } }>('/web/:file', { config: { access: 'public' } }, async (req, reply) =>
    serve(req.params.file, reply),
  );

  const overrides = new Map<string, BusinessCalendarConfig>();
  for (const c of ctx.config.customers) if (c.calendar !== undefined) overrides.set(c.id, c.calendar);
  const calendarFor = createCalendarResolver(ctx.config.calendar, overrides);

  http.get('/api/calendars', { config: { access: 'read' } }, async (request) => {
    const now = ctx.clock.now();
    const describe = (customer: string | null, name: string) => {
      const cal = calendarFor(customer);
      return {
        customer,
        name,
        timeZone: cal.timeZone,
        openNow: cal.isBusinessInstant(now),
        nextOpening: new Date(
          cal.nextBusinessInstant(cal.isBusinessInstant(now) ? cal.window(cal.localDate(now)).closeMs : now),
        ).toISOString(),
        at: new Date(now).toISOString(),
      };
    };
    // Only the caller's customers (the access layer filters arrays, not this object's `customers` list).
    const mine = ctx.config.customers.filter((c) => request.principal === undefined || maySee(request.principal, c.id));
    return { default: describe(null, 'default'), customers: mine.map((c) => describe(c.id, c.name)) };
  });

  // The lifecycle the desk's buttons follow (only the steps allowed in the ticket's state are offered).
  http.get('/api/lifecycle', { config: { access: 'read' } }, async () => ({ transitions: ALLOWED_TRANSITIONS }));

  return { name: 'pages' };
}
