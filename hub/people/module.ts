/**
 * People as a hub module: users, tokens and sessions (store, sign-in routes, throttling), access control for every
 * route and the websocket (one place), and the audit trail. Created before every module that adds routes, so its
 * route table sees them all. Provides `ctx.services.people` (the websocket authenticates through it) and
 * `ctx.services.audit`.
 */
import type { IncomingMessage } from 'node:http';
import { installAuditTrail } from '../audit/hook.ts';
import { registerAuditRoutes } from '../audit/routes.ts';
import { AuditStore } from '../audit/store.ts';
import type { HubContext, HubModule } from '../context.ts';
import { type AccessControl, installAccessControl, type OwnerResolvers } from './access-control.ts';
import { Authenticator, credentialsFrom } from './authenticate.ts';
import { registerOpenApiRoute } from './openapi.ts';
import { registerPeopleRoutes } from './people-routes.ts';
import type { Principal } from './roles.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { PeopleStore } from './store.ts';
import { DEFAULT_THROTTLE, SignInThrottle } from './throttle.ts';

/** The API's version in the OpenAPI description (the package's). */
const API_VERSION = '0.1.0';

export interface PeopleModule extends HubModule {
  readonly store: PeopleStore;
  readonly audit: AuditStore;
  readonly access: AccessControl;
  /** The websocket's caller: bearer header, `?token=` or the session cookie. */
  authenticateUpgrade(req: IncomingMessage, url: URL): Promise<Principal | undefined>;
}

export function createPeopleModule(ctx: HubContext): PeopleModule {
  const now = () => ctx.clock.now();
  const store = new PeopleStore(ctx.sql, now);
  const audit = new AuditStore(ctx.sql, now);
  const authenticator = new Authenticator(ctx.config, store);
  const throttle = new SignInThrottle({ now, ...DEFAULT_THROTTLE });
  const owners: OwnerResolvers = {
    device: (serial) => ctx.services.registry?.get(serial)?.customer ?? ctx.services.devices?.get(serial)?.customer,
    // synchronous: the tickets module's owner index (a ticket's customer never changes)
    ticket: (id) => ctx.services.tickets?.ownerOf(id),
    contract: (number) => ctx.services.registry?.contract(number)?.customer,
    customer: (id) => (ctx.config.customers.some((c) => c.id === id) ? id : undefined),
  };
  const access = installAccessControl(ctx.http, {
    authenticator: () => authenticator,
    owners,
    logger: ctx.logger.child({ component: 'access' }),
  });
  installAuditTrail(ctx.http, {
    store: () => audit,
    snapshots: {
      ticket: async (id) => {
        const ticket = await ctx.services.tickets?.get(id);
        if (ticket === undefined) return undefined;
        const { history: _history, ...view } = ticket;
        return view;
      },
      device: (serial) => ctx.services.registry?.get(serial),
      contract: (number) => ctx.services.registry?.contract(number),
      user: (name) => store.user(name),
    },
  });
  registerSessionRoutes(ctx.http, { store, throttle, audit: () => audit, now });
  registerPeopleRoutes(ctx.http, {
    store,
    customerExists: (id) => ctx.services.customers?.exists(id) ?? ctx.config.customers.some((c) => c.id === id),
  });
  registerAuditRoutes(ctx.http, audit);
  registerOpenApiRoute(ctx.http, access, API_VERSION);
  const module: PeopleModule = {
    name: 'people',
    store,
    audit,
    access,
    async authenticateUpgrade(req, url) {
      return (await authenticator.authenticate(credentialsFrom(req.headers, url.searchParams.get('token')))).principal;
    },
    async start() {
      await store.migrate();
      await audit.migrate();
    },
  };
  ctx.services.people = module;
  ctx.services.audit = audit;
  return module;
}
