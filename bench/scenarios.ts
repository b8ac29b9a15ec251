/** The scenario list, loaded lazily so one broken scenario cannot stop the others from loading. */
import type { Scenario } from './harness.ts';

export const SCENARIOS: Array<() => Promise<Scenario>> = [
  () => import('./b1-ingest-knee.ts').then((m) => m.scenario),
];
