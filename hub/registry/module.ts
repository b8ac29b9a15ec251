/**
 * The registry as a hub module: provides `ctx.services.registry` and `ctx.services.customers`; registry
 * management routes (hub/registry/admin-routes.ts) and the CSV import (hub/registry/import-routes.ts).
 */
import type { HubContext, HubModule } from '../context.ts';
import { SerialQueue } from '../store/serial-queue.ts';
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
  const feed = ctx.services.changeFeed;
  // one write queue for the registry and the customers: an import over both is ordered with every other write
  const writes = new SerialQueue((err) =>
    ctx.logger.error({ err, component: 'registry' }, 'registry write (or reload of a change) failed'),
  );
  const registry = new Registry(ctx.sql, ctx.config, now, { ...(feed !== undefined ? { feed } : {}), writes });
  const customers = new CustomerDirectory(ctx.sql, now, { ...(feed !== undefined ? { feed } : {}), writes });
  ctx.services.registry = registry;
  ctx.services.customers = customers;
  registerRegistryAdminRoutes(ctx.http, { registry, customers, now, timeZone: ctx.config.calendar.timeZone });
  registerImportRoutes(ctx.http, { sql: ctx.sql, registry, customers, now, ...(feed !== undefined ? { feed } : {}) });
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
      await registry.start();
      await customers.start(ctx.config);
      await agents.start();
    },
    async stop() {
      await agents.idle();
      await writes.idle();
    },
  };
}
