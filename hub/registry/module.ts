/**
 * The registry as a hub module: provides `ctx.services.registry` and `ctx.services.customers`; registry
 * management routes (hub/registry/admin-routes.ts) and the CSV import (hub/registry/import-routes.ts).
 */
import type { HubContext, HubModule } from '../context.ts';
import { registerRegistryAdminRoutes } from './admin-routes.ts';
import { AgentAccounts, registerAgentRoutes } from './agents.ts';
import { CustomerDirectory } from './customers.ts';
import { registerImportRoutes } from './import-routes.ts';
import { Registry } from './registry.ts';

export interface RegistryModule extends HubModule {
  readonly registry: Registry;
  readonly customers: CustomerDirectory;
}

export function createRegistryModule(ctx: HubContext): RegistryModule {
  const now = () => ctx.clock.now();
  const registry = new Registry(ctx.db, ctx.config, now);
  const customers = new CustomerDirectory(ctx.db, now);
  ctx.services.registry = registry;
  ctx.services.customers = customers;
  registerRegistryAdminRoutes(ctx.http, { registry, customers, now, timeZone: ctx.config.calendar.timeZone });
  registerImportRoutes(ctx.http, { db: ctx.db, registry, customers, now });
  const agents = new AgentAccounts(ctx.sql, ctx.config, ctx.services, now, ctx.services.changeFeed, (err) =>
    ctx.logger.error({ err, component: 'agents' }, "another hub node's agent change not loaded"),
  );
  registerAgentRoutes(ctx.http, {
    agents,
    // A known site: registered as such, or the site of a device or of a config agent.
    siteExists: (site) =>
      customers.sites().some((s) => s.id === site) ||
      registry.list().some((d) => d.site === site) ||
      ctx.config.agents.some((a) => a.site === site),
  });
  return {
    name: 'registry',
    registry,
    customers,
    async start() {
      registry.start();
      customers.start(ctx.config);
      await agents.start();
    },
    stop() {
      return agents.idle();
    },
  };
}
