/** The registry as a hub module: provides `ctx.services.registry`. */
import type { HubContext, HubModule } from '../context.ts';
import { Registry } from './registry.ts';

export interface RegistryModule extends HubModule {
  readonly registry: Registry;
}

export function createRegistryModule(ctx: HubContext): RegistryModule {
  const registry = new Registry(ctx.db, ctx.config, () => ctx.clock.now());
  ctx.services.registry = registry;
  return {
    name: 'registry',
    registry,
    start() {
      registry.start();
      return Promise.resolve();
    },
  };
}
