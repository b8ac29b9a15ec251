/**
 * Process metrics on `ctx.metrics` (the one prom-client Registry, served at `GET /metrics`).
 * Modules register their own metrics on `ctx.metrics` (`registers: [ctx.metrics]`).
 */
import { collectDefaultMetrics } from 'prom-client';
import type { HubContext, HubModule } from './context.ts';

export function createMetricsModule(ctx: HubContext): HubModule {
  return {
    name: 'metrics',
    start() {
      collectDefaultMetrics({ register: ctx.metrics, prefix: 'hezo_process_', eventLoopMonitoringPrecision: 20 });
      return Promise.resolve();
    },
  };
}
