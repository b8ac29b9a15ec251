/** The scenario list, loaded lazily so one broken scenario cannot stop the others from loading. */
import type { Scenario } from './harness.ts';

export const SCENARIOS: Array<() => Promise<Scenario>> = [
  () => import('./b1-ingest-knee.ts').then((m) => m.scenario),
  () => import('./b2-nominal-load.ts').then((m) => m.scenario),
  () => import('./b3-detection-latency.ts').then((m) => m.scenario),
  () => import('./b4-false-alarms.ts').then((m) => m.scenario),
  () => import('./b5-reconnect-storm.ts').then((m) => m.scenario),
  () => import('./b6-scenario.ts').then((m) => m.scenario),
  () => import('./b7-influx-stall.ts').then((m) => m.scenario),
  () => import('./b8-agent-footprint.ts').then((m) => m.scenario),
  () => import('./b9-ticket-store.ts').then((m) => m.scenario),
  () => import('./b10-soak.ts').then((m) => m.scenario),
  () => import('./b11-several-hubs.ts').then((m) => m.scenario),
  () => import('./b12-trap-path.ts').then((m) => m.scenario),
];
