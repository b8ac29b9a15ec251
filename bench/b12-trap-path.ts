/**
 * B12 trap path, end to end with real parts: a simulated fleet of Studio X50s (child, core 1) sending its SNMP traps
 * to the real agent (child, core 1, polls every 60 s, traps on), and a complete hub (this process, core 0). For each
 * device in turn: camera unplugged (fault injected) -> the device's primaryCameraDown trap -> the agent's event and
 * immediate re-poll -> the hub receives the health record with the camera failed (bus `ingest:health`) and stores
 * the device `degraded` (bus `device-state`). Faults are spread so they hit every phase of the 60 s poll.
 * Baseline: the next poll, on paper (uniformly 0-60 s after the fault: median 30 s, p95 57 s).
 */

import { buildAgentConfig } from '../simulator/agent-config.ts';
import type { SimDeviceInfo } from '../simulator/fleet.ts';
import type { Figure, Profile, Scenario } from './harness.ts';
import { round, summarise } from './harness.ts';
import { AGENT_PASSWORD, BENCH_DIR, Child, pinNote, pinSelf, sleep, tempDir } from './load/common.ts';
import { startBenchHub } from './load/hub.ts';

const PROFILES = {
  tiny: { devices: 2, rounds: 1 },
  quick: { devices: 10, rounds: 2 },
  full: { devices: 20, rounds: 5 },
} as const;
const AGENT = { id: 'b12-agent', site: 'b12-site' };
const POLL_MS = 60_000;

async function run(profile: Profile) {
  const p = PROFILES[profile];
  const tmp = tempDir('b12');
  const fleet = Child.start(`${BENCH_DIR}/load/fleet-proc.ts`, { core: 1 });
  const notes: string[] = [];
  let agentProc: Child | undefined;
  try {
    const { devices } = await fleet.request<{ devices: SimDeviceInfo[] }>(
      { cmd: 'start', devices: p.devices, seed: 12, models: ['StudioX50'], autoCalls: false },
      'ready',
      120_000,
    );
    const serials = devices.map((d) => d.serial);
    const hub = await startBenchHub({
      agents: [AGENT],
      extra: {
        customers: [{ id: 'b12-customer', name: 'B12 customer' }],
        devices: devices.map((d) => ({ serial: d.serial, model: d.model, site: AGENT.site, customer: 'b12-customer' })),
      },
    });
    const unpin = pinSelf(0);
    try {
      const seen = new Map<string, number>();
      const degraded = new Map<string, number>();
      const firstRecord = new Set<string>();
      hub.hub.ctx.bus.on('ingest:health', (m) => {
        firstRecord.add(m.message.identity.serial);
        if (m.message.components.some((c) => c.kind === 'camera' && c.status === 'failed')) {
          if (!seen.has(m.message.identity.serial)) seen.set(m.message.identity.serial, Date.now());
        }
      });
      hub.hub.ctx.bus.on('device-state', (t) => {
        if (t.to === 'degraded' && !degraded.has(t.serial)) degraded.set(t.serial, Date.now());
      });
      const raw = buildAgentConfig(devices, { mqttUrl: hub.urls.mqttUrl, agentId: AGENT.id, site: AGENT.site });
      const agentConfig = {
        ...raw,
        customer: 'b12-customer',
        devices: (raw.devices as Array<Record<string, unknown>>).map((d) => ({ ...d, channels: ['rest', 'snmp'] })),
        mqtt: { url: hub.urls.mqttUrl, username: AGENT.id, password: AGENT_PASSWORD, keepaliveS: 5 },
        pollIntervalMs: POLL_MS,
        requestTimeoutMs: 2000,
        traps: { enabled: true, address: '127.0.0.1', port: 0 },
        dataDir: `${tmp.dir}/agent`,
      };
      agentProc = Child.start(`${BENCH_DIR}/load/agent-proc.ts`, { core: 1 });
      const { trapPort } = await agentProc.request<{ trapPort: number }>(
        { cmd: 'start', config: agentConfig },
        'started',
        60_000,
      );
      await fleet.request({ cmd: 'trap-target', port: trapPort }, 'trap-target', 5000);
      const t0 = Date.now();
      while (firstRecord.size < serials.length && Date.now() - t0 < 30_000) await sleep(50);

      const toRecord: number[] = [];
      const toDegraded: number[] = [];
      let missing = 0;
      for (let r = 0; r < p.rounds; r += 1) {
        seen.clear();
        degraded.clear();
        const injected = new Map<string, number>();
        // spread over the poll interval (quick: 2 x 10 faults over ~2 min), one device at a time
        const spacing = Math.min(POLL_MS / serials.length, 6000);
        for (const serial of serials) {
          const res = await fleet.request<{ atMs: number }>(
            { cmd: 'fault', serial, kind: 'camera-disconnected' },
            'faulted',
            5000,
          );
          injected.set(serial, res.atMs);
          await sleep(spacing * (0.5 + Math.random()));
        }
        const t1 = Date.now();
        while (degraded.size < serials.length && Date.now() - t1 < 10_000) await sleep(50);
        for (const [serial, at] of injected) {
          const s = seen.get(serial);
          const d = degraded.get(serial);
          if (s === undefined || d === undefined) {
            missing += 1;
            continue;
          }
          toRecord.push((s - at) / 1000);
          toDegraded.push((d - at) / 1000);
        }
        notes.push(
          `round ${r + 1}: ${injected.size} camera faults, ${seen.size} records with the camera failed, ${degraded.size} degraded`,
        );
        await fleet.request({ cmd: 'clear' }, 'cleared', 5000);
        // back to ok before the next round (camera OK trap -> re-poll)
        await sleep(3000);
      }
      const sr = summarise(toRecord);
      const sd = summarise(toDegraded);
      const judged = profile !== 'tiny';
      notes.push(
        `${pinNote('hub on core 0; fleet + agent on core 1')}; ${serials.length} Studio X50 x ${p.rounds} round(s), polls every 60 s, ` +
          `traps v2c to the agent; fault -> record with camera failed at the hub: p50 ${round(sr.p50, 3)} / p95 ${round(
            sr.p95,
            3,
          )} / max ${round(sr.max, 3)} s; -> degraded stored: p50 ${round(sd.p50, 3)} / p95 ${round(sd.p95, 3)} s (n=${sd.n}, missing ${missing})`,
      );
      const figures: Figure[] = [
        {
          name: 'camera unplugged -> component event at the hub, median',
          value: round(sr.p50, 3),
          unit: 's',
          baseline: POLL_MS / 2000,
          baselineName: 'next 60 s poll, on paper',
          target: '<= 1',
          ...(judged ? { met: sr.p50 <= 1 && missing === 0 } : {}),
        },
        {
          name: 'camera unplugged -> component event at the hub, p95',
          value: round(sr.p95, 3),
          unit: 's',
          baseline: (POLL_MS * 0.95) / 1000,
          baselineName: 'next 60 s poll, on paper',
          target: '<= 3',
          ...(judged ? { met: sr.p95 <= 3 && missing === 0 } : {}),
        },
        { name: 'camera unplugged -> degraded stored, p95', value: round(sd.p95, 3), unit: 's' },
      ];
      return { figures, notes };
    } finally {
      unpin();
      if (agentProc !== undefined) await agentProc.stop('SIGKILL');
      await hub.close();
    }
  } finally {
    await fleet.stop();
    tmp.remove();
  }
}

export const scenario: Scenario = {
  id: 'B12',
  title: 'trap path (camera unplugged -> component event at the hub)',
  run,
};
