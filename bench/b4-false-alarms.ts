/**
 * B4 false alarms in virtual time: the real outage detector (hub/outage/detector.ts, a pure state machine) on a
 * ManualClock, fed 1 h of 5-s polls per device on a lossy network: every packet lost with 5 % probability and
 * 2 % of answers slower than the request timeout. A probe (REST or SNMP) fails only when all of the agent's
 * attempts fail (1 + `retries`, agent default retries = 2); each attempt needs its request and its answer.
 * Every transition to `down` or `degraded` would open an automatic ticket (hub/tickets/auto-tickets.ts).
 * The agent's liveness check (agent/liveness.ts) is modelled too: 5 TCP connects per device per poll interval (one
 * attempt each); two misses in a row are confirmed by a TCP connect and an SNMP get of two attempts each, and a
 * confirmed miss is one more failed poll for the detector (at most 3 per episode, until a connect succeeds).
 * Also reported (no target): the same network with an agent that does not retry.
 */
import { HubConfig } from '../hub/config.ts';
import { Detector } from '../hub/outage/detector.ts';
import type { DeviceTransition } from '../hub/types.ts';
import { ManualClock } from '../protocols/clock.ts';
import type { HealthRecord } from '../protocols/health.ts';
import type { Figure, Profile, Scenario } from './harness.ts';
import { round } from './harness.ts';
import { healthRecord } from './load/health-json.ts';

const PROFILES = {
  tiny: { devices: 20, hours: 0.25 },
  quick: { devices: 250, hours: 1 },
  full: { devices: 5000, hours: 1 },
} as const;

const POLL_MS = 5000;
const PACKET_LOSS = 0.05;
const SLOW_ANSWER = 0.02;
const DEVICES_PER_AGENT = 25;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Outcome {
  polls: number;
  failedProbes: number;
  /** Liveness misses confirmed (each one a failed poll at the hub). */
  confirmedMisses: number;
  transitions: DeviceTransition[];
}

const LIVENESS_PER_POLL = POLL_MS / 1000;
const CONFIRM_ATTEMPTS = 2;
const MAX_CONFIRMS = 3;

function simulate(devices: number, hours: number, retries: number, seed: number): Outcome {
  const start = Date.parse('2026-11-25T08:00:00.000Z');
  const clock = new ManualClock(start);
  const config = HubConfig.parse({ version: 1, api: { token: 'b4-virtual-token-0123456789' } }).detection;
  const transitions: DeviceTransition[] = [];
  const detector = new Detector({
    config,
    clock,
    sink: { transition: (t) => transitions.push(t), siteAlert: () => {}, agentPresence: () => {} },
    isInMaintenance: () => false,
    deviceInfo: () => undefined,
  });
  const random = prng(seed);
  const attemptFails = () => random() < PACKET_LOSS || random() < PACKET_LOSS || random() < SLOW_ANSWER;
  const probeFails = () => {
    for (let attempt = 0; attempt <= retries; attempt += 1) if (!attemptFails()) return false;
    return true;
  };
  const failed = {
    ok: false,
    attempts: retries + 1,
    error: { kind: 'timeout' as const, message: 'no answer in 2000 ms' },
  };
  const base = Array.from({ length: devices }, (_, i) => {
    const agentId = `b4-agent-${Math.floor(i / DEVICES_PER_AGENT)}`;
    return healthRecord(agentId, `b4-site-${Math.floor(i / DEVICES_PER_AGENT)}`, `B4-${i}`, 0, '', true);
  });
  const seqs = new Map<string, number>();
  const liveness = Array.from({ length: devices }, () => ({ misses: 0, confirms: 0 }));
  const confirmFails = () => {
    for (let attempt = 0; attempt < CONFIRM_ATTEMPTS; attempt += 1) if (!attemptFails()) return false;
    return true;
  };
  let confirmedMisses = 0;
  let polls = 0;
  let failedProbes = 0;
  const steps = Math.round((hours * 3_600_000) / POLL_MS);
  for (let step = 0; step < steps; step += 1) {
    // Polls of one interval are spread over it (staggered devices).
    for (let i = 0; i < devices; i += 1) {
      const b = base[i]!;
      const restFails = probeFails();
      const snmpFails = probeFails();
      failedProbes += Number(restFails) + Number(snmpFails);
      const seq = (seqs.get(b.agentId) ?? 0) + 1;
      seqs.set(b.agentId, seq);
      const allFailed = restFails && snmpFails;
      const record: HealthRecord = {
        ...b,
        seq,
        observedAt: new Date(clock.now()).toISOString(),
        pollIntervalMs: POLL_MS,
        reachability: {
          rest: restFails ? failed : (b.reachability.rest ?? failed),
          snmp: snmpFails ? failed : (b.reachability.snmp ?? failed),
        },
        ...(allFailed
          ? { components: [], evidence: [], call: undefined, uptimeS: undefined, temperatureC: undefined }
          : {}),
        ...(allFailed ? {} : { uptimeS: 86_400 + (clock.now() - start) / 1000 }),
      };
      detector.onHealth({
        message: record,
        site: b.site,
        agentId: b.agentId,
        clientId: b.agentId,
        receivedAtMs: clock.now(),
      });
      polls += 1;
      // liveness checks until this device's next poll
      const live = liveness[i]!;
      for (let k = 0; k < LIVENESS_PER_POLL; k += 1) {
        if (!attemptFails()) {
          live.misses = 0;
          live.confirms = 0;
          continue;
        }
        live.misses += 1;
        if (live.misses < 2 || live.confirms >= MAX_CONFIRMS) continue;
        if (!(confirmFails() && confirmFails())) continue;
        live.confirms += 1;
        confirmedMisses += 1;
        const seqL = (seqs.get(b.agentId) ?? 0) + 1;
        seqs.set(b.agentId, seqL);
        detector.onHealth({
          message: {
            ...b,
            seq: seqL,
            observedAt: new Date(clock.now()).toISOString(),
            pollIntervalMs: POLL_MS,
            reachability: { tcp: failed, snmp: failed },
            components: [],
            evidence: [],
          },
          site: b.site,
          agentId: b.agentId,
          clientId: b.agentId,
          receivedAtMs: clock.now(),
        });
      }
      if (i % DEVICES_PER_AGENT === DEVICES_PER_AGENT - 1 || i === devices - 1) {
        detector.onHeartbeat({
          message: {
            v: 1,
            agentId: b.agentId,
            at: new Date(clock.now()).toISOString(),
            intervalMs: POLL_MS,
            outboxDepth: 0,
            outboxDropped: 0,
          },
          site: b.site,
          agentId: b.agentId,
          clientId: b.agentId,
          receivedAtMs: clock.now(),
        });
      }
      clock.advance(POLL_MS / devices);
    }
  }
  detector.stop();
  return { polls, failedProbes, confirmedMisses, transitions };
}

async function run(profile: Profile) {
  const p = PROFILES[profile];
  const t0 = performance.now();
  const withRetries = simulate(p.devices, p.hours, 2, 42);
  const noRetries = simulate(p.devices, p.hours, 0, 42);
  const wallMs = performance.now() - t0;
  const problems = (o: Outcome) => o.transitions.filter((t) => t.to === 'down' || t.to === 'degraded');
  const tickets = problems(withRetries).length;
  const reasons = (o: Outcome) => {
    const by = new Map<string, number>();
    for (const t of problems(o)) by.set(`${t.to}:${t.reason}`, (by.get(`${t.to}:${t.reason}`) ?? 0) + 1);
    return [...by].map(([k, v]) => `${k} x${v}`).join(', ') || 'none';
  };
  const figures: Figure[] = [
    { name: 'tickets opened (agent retries = 2)', value: tickets, unit: 'tickets', target: '0', met: tickets === 0 },
    {
      name: 'failed probes seen (agent retries = 2)',
      value: withRetries.failedProbes,
      unit: 'probes',
    },
    { name: 'tickets opened if the agent did not retry', value: problems(noRetries).length, unit: 'tickets' },
  ];
  const notes = [
    `virtual time: ${p.devices} devices x ${p.hours} h of ${POLL_MS / 1000}-s polls = ${withRetries.polls} records, ` +
      `real detector + ManualClock, computed in ${round(wallMs, 0)} ms`,
    `network: ${PACKET_LOSS * 100} % loss per packet (request and answer), ${SLOW_ANSWER * 100} % of answers later than ` +
      'the timeout; REST over TCP is modelled like UDP (no retransmit inside the timeout): pessimistic',
    `with retries: ${withRetries.failedProbes} failed probes, ${withRetries.confirmedMisses} liveness misses confirmed ` +
      `(failed polls between polls), problem transitions: ${reasons(withRetries)}`,
    `without retries: ${noRetries.failedProbes} failed probes, problem transitions: ${reasons(noRetries)}`,
    'tickets = transitions to down/degraded, each of which opens (or escalates) an automatic ticket',
  ];
  return { figures, notes };
}

export const scenario: Scenario = { id: 'B4', title: 'false alarms on a lossy network (virtual time)', run };
