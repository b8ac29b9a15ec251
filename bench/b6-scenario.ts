/**
 * B6 websocket fan-out as a scenario: wraps the colleague's bench/b6-ws-fanout.ts `run({clients, messages})`
 * (hub /ws stream vs a bare `ws` broadcast of the same bytes, one client that stops reading).
 */
import { run as runFanout } from './b6-ws-fanout.ts';
import type { Figure, Profile, Scenario } from './harness.ts';

const PROFILES = {
  tiny: { clients: 20, messages: 20 },
  quick: { clients: 1000, messages: 100 },
  full: { clients: 1000, messages: 1000 },
} as const;

type Num = number | undefined;
const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
const at = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
    o,
  );

async function run(profile: Profile) {
  const p = PROFILES[profile];
  const r = await runFanout(p);
  const judged = profile !== 'tiny';
  const perFrame = num(at(r, 'hub', 'perFrameUs'));
  const basePerFrame = num(at(r, 'baseline', 'perFrameUs'));
  const p99 = num(at(r, 'hub', 'latencyMs', 'p99'));
  const cutOff = at(r, 'slowClient', 'cutOff') === true;
  const othersOk = at(r, 'slowClient', 'othersComplete') === true;
  const baseP99: Num = num(at(r, 'baseline', 'latencyMs', 'p99'));
  const figures: Figure[] = [
    {
      name: 'hub CPU per delivered frame',
      value: perFrame,
      unit: 'us',
      baseline: basePerFrame,
      baselineName: 'bare ws broadcast',
      target: '<= 10',
      ...(judged ? { met: perFrame <= 10 } : {}),
    },
    {
      name: 'delta latency p99',
      value: p99,
      unit: 'ms',
      baseline: baseP99,
      baselineName: 'bare ws broadcast',
      target: '<= 1000',
      ...(judged ? { met: p99 <= 1000 } : {}),
    },
    { name: 'slow client cut off', value: cutOff ? 1 : 0, unit: 'yes=1', target: '1', met: cutOff },
    {
      name: 'other clients complete during the cut-off',
      value: othersOk ? 1 : 0,
      unit: 'yes=1',
      target: '1',
      met: othersOk,
    },
  ];
  const notes = [
    `${String(r.pinned)}; ${p.clients} clients x ${p.messages} deltas (each emitted twice, coalesced), ${String(
      r.coalesceMs,
    )} ms coalescing`,
    `hub: ${JSON.stringify(r.hub)}`,
    `baseline: ${JSON.stringify(r.baseline)}`,
    `slow client phase: ${JSON.stringify(r.slowClient)}`,
  ];
  return { figures, notes };
}

export const scenario: Scenario = { id: 'B6', title: 'websocket fan-out vs bare ws', run };
