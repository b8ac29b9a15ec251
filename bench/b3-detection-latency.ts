/**
 * B3 detection latency, end to end with real parts: a simulated fleet (child, core 1), the real agent (child,
 * core 1, polls every 5 s, REST + SNMP, 2 s timeout, keepalive 5 s) and a complete hub (this process, core 0)
 * with a NOC websocket client. For each device: power-off injected -> `down` stored (bus `device-state`, emitted
 * after the SQLite insert) -> P1 ticket stored (bus `ticket`, emitted after the commit) -> websocket `device`
 * delta with state down. Faults hit half the devices (80 % down together would be one site-network alert and no
 * tickets, hub/outage/site-grouping.ts), spread over a poll interval so they hit every poll phase.
 * The agent's liveness check (agent/liveness.ts: one SNMP v2c GET datagram per device every second - a TCP connect
 * for devices without v2c -, two misses confirmed over SNMP + TCP and reported as a failed poll) is on, as by default.
 * Then: agent crash (SIGKILL) -> site alert raised; hung agent (SIGSTOP) -> site alert vs 1.5 x keepalive.
 * Baseline (on paper, defaults of the tools): Zabbix ICMP ~3 min / agent unavailable 5 min, Prometheus +
 * Alertmanager ~0.5-2.7 min, Uptime Kuma 60 s heartbeat.
 */

import WebSocket from 'ws';
import { buildAgentConfig } from '../simulator/agent-config.ts';
import type { SimDeviceInfo } from '../simulator/fleet.ts';
import type { Figure, Profile, Scenario } from './harness.ts';
import { round, summarise } from './harness.ts';
import { AGENT_PASSWORD, API_TOKEN, BENCH_DIR, Child, pinNote, pinSelf, sleep, tempDir } from './load/common.ts';
import { startBenchHub } from './load/hub.ts';

/** tiny (CI) polls every second so the harness is proven in seconds; quick/full use the 5-s polls of the target. */
const PROFILES = {
  tiny: { devices: 3, faults: 1, rounds: 1, pollMs: 1000, keepaliveS: 1, timeoutMs: 300 },
  quick: { devices: 12, faults: 6, rounds: 1, pollMs: 5000, keepaliveS: 5, timeoutMs: 2000 },
  full: { devices: 12, faults: 6, rounds: 5, pollMs: 5000, keepaliveS: 5, timeoutMs: 2000 },
} as const;
const AGENT = { id: 'b3-agent', site: 'b3-site' };
/** Zabbix ICMP ~3 min, Prometheus + Alertmanager defaults 0.5-2.7 min (benchmarks.md): the faster one. */
const PAPER_BASELINE_S = 30;

async function run(profile: Profile) {
  const p = PROFILES[profile];
  const POLL_MS = p.pollMs;
  const KEEPALIVE_S = p.keepaliveS;
  const tmp = tempDir('b3');
  const fleet = Child.start(`${BENCH_DIR}/load/fleet-proc.ts`, { core: 1 });
  const notes: string[] = [];
  let agentProc: Child | undefined;
  try {
    const { devices } = await fleet.request<{ devices: SimDeviceInfo[] }>(
      { cmd: 'start', devices: p.devices, seed: 3 },
      'ready',
      120_000,
    );
    const serials = devices.map((d) => d.serial);
    const hub = await startBenchHub({
      agents: [AGENT],
      extra: {
        customers: [{ id: 'b3-customer', name: 'B3 customer' }],
        contracts: [{ number: 'B3-C1', customer: 'b3-customer', start: '2026-01-01', termYears: 3, serials }],
        devices: devices.map((d) => ({ serial: d.serial, model: d.model, site: AGENT.site, customer: 'b3-customer' })),
      },
    });
    const unpin = pinSelf(0);
    const ws = new WebSocket(`${hub.urls.httpUrl.replace('http', 'ws')}/ws?token=${API_TOKEN}`);
    ws.on('error', () => {});
    await new Promise((resolveOpen, reject) => {
      ws.once('open', resolveOpen);
      ws.once('error', reject);
    });
    try {
      const down = new Map<string, number>();
      const ticket = new Map<string, number>();
      const wsDown = new Map<string, number>();
      const alerts: Array<{ status: string; reason: string; at: number }> = [];
      let online = 0;
      hub.hub.ctx.bus.on('device-state', (t) => {
        if (t.to === 'down' && !down.has(t.serial)) down.set(t.serial, Date.now());
      });
      const ticketEvents = new Map<string, number>();
      hub.hub.ctx.bus.on('ticket', ({ ticket: tk, change }) => {
        const key = `${change}:${tk.priority}`;
        ticketEvents.set(key, (ticketEvents.get(key) ?? 0) + 1);
        if ((change === 'opened' || change === 'escalated') && tk.priority === 'P1' && !ticket.has(tk.serial)) {
          ticket.set(tk.serial, Date.now());
        }
      });
      hub.hub.ctx.bus.on('site-alert', (a) => alerts.push({ status: a.status, reason: a.reason, at: Date.now() }));
      hub.hub.ctx.bus.on('agent-presence', (e) => {
        if (e.status === 'online') online += 1;
      });
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type: string; data?: { serial?: string; state?: string } };
        if (m.type === 'device' && m.data?.state === 'down' && m.data.serial && !wsDown.has(m.data.serial)) {
          wsDown.set(m.data.serial, Date.now());
        }
      });

      const raw = buildAgentConfig(devices, { mqttUrl: hub.urls.mqttUrl, agentId: AGENT.id, site: AGENT.site });
      const agentConfig = {
        ...raw,
        customer: 'b3-customer',
        devices: (raw.devices as Array<Record<string, unknown>>).map((d) => ({ ...d, channels: ['rest', 'snmp'] })),
        mqtt: { url: hub.urls.mqttUrl, username: AGENT.id, password: AGENT_PASSWORD, keepaliveS: KEEPALIVE_S },
        pollIntervalMs: POLL_MS,
        requestTimeoutMs: p.timeoutMs,
        dataDir: `${tmp.dir}/agent`,
      };
      const startAgent = async () => {
        const proc = Child.start(`${BENCH_DIR}/load/agent-proc.ts`, { core: 1 });
        const before = online;
        await proc.request({ cmd: 'start', config: agentConfig }, 'started', 60_000);
        const t0 = Date.now();
        while (online === before && Date.now() - t0 < 15_000) await sleep(20);
        return proc;
      };
      agentProc = await startAgent();
      // Every device up first (two polls).
      await sleep(POLL_MS * 2 + 1000);

      const fault: number[] = [];
      const toDown: number[] = [];
      const toTicket: number[] = [];
      const toWs: number[] = [];
      let missing = 0;
      for (let round_ = 0; round_ < p.rounds; round_ += 1) {
        down.clear();
        ticket.clear();
        wsDown.clear();
        const injected = new Map<string, number>();
        // Half the site's devices: >= 80 % down together is a room-network outage (one site alert, no tickets).
        const victims = serials
          .slice((round_ * p.faults) % serials.length)
          .concat(serials)
          .slice(0, p.faults);
        const spacing = POLL_MS / victims.length;
        for (const serial of victims) {
          const r = await fleet.request<{ atMs: number }>({ cmd: 'fault', serial, kind: 'power-off' }, 'faulted', 5000);
          injected.set(serial, r.atMs);
          await sleep(spacing * (0.5 + Math.random()));
        }
        const t0 = Date.now();
        while ((wsDown.size < victims.length || ticket.size < victims.length) && Date.now() - t0 < 45_000)
          await sleep(50);
        notes.push(
          `round ${round_ + 1}: ${injected.size} faults, ${down.size} down, ${ticket.size} P1 tickets, ${wsDown.size} ws deltas; ticket events ${JSON.stringify([...ticketEvents])}`,
        );
        for (const [serial, at] of injected) {
          const d = down.get(serial);
          const tk = ticket.get(serial);
          const w = wsDown.get(serial);
          if (d === undefined || tk === undefined || w === undefined) {
            missing += 1;
            continue;
          }
          fault.push(at);
          toDown.push((d - at) / 1000);
          toTicket.push((tk - at) / 1000);
          toWs.push((w - at) / 1000);
        }
        await fleet.request({ cmd: 'clear' }, 'cleared', 5000);
        if (round_ < p.rounds - 1) await sleep(POLL_MS * 3);
      }

      // Agent crash: SIGKILL -> the broker sees the socket close -> Last Will -> site alert.
      const crashAlerts = alerts.length;
      const killAt = Date.now();
      agentProc.proc.kill('SIGKILL');
      let t0 = Date.now();
      while (!alerts.slice(crashAlerts).some((a) => a.status === 'raised') && Date.now() - t0 < 20_000) await sleep(5);
      const crash = alerts.slice(crashAlerts).find((a) => a.status === 'raised');
      const crashS = crash === undefined ? Number.NaN : (crash.at - killAt) / 1000;
      await agentProc.stop('SIGKILL');

      // Hung agent: SIGSTOP -> silent socket -> aedes keepalive x 1.5 -> Last Will -> site alert.
      agentProc = await startAgent();
      await sleep(1500);
      const hungAlerts = alerts.length;
      const stopAt = Date.now();
      agentProc.proc.kill('SIGSTOP');
      t0 = Date.now();
      while (!alerts.slice(hungAlerts).some((a) => a.status === 'raised') && Date.now() - t0 < 40_000) await sleep(5);
      const hung = alerts.slice(hungAlerts).find((a) => a.status === 'raised');
      const hungS = hung === undefined ? Number.NaN : (hung.at - stopAt) / 1000;
      agentProc.proc.kill('SIGCONT');
      await agentProc.stop('SIGKILL');
      agentProc = undefined;

      const sd = summarise(toDown);
      const st = summarise(toTicket);
      const sw = summarise(toWs);
      const judged = profile !== 'tiny';
      const hungTarget = 1.5 * KEEPALIVE_S;
      notes.push(
        `${pinNote('hub on core 0; fleet + agent on core 1')}; power-off on ${p.faults} of ${serials.length} devices ` +
          `(below the 80 % site-outage share) x ${p.rounds} round(s), ` +
          `poll ${POLL_MS / 1000} s, request timeout ${p.timeoutMs} ms, retries 2, downAfterFailedPolls 2, keepalive ${KEEPALIVE_S} s, ` +
          'liveness check every 1 s (one SNMP v2c GET datagram; 2 misses -> confirmed over SNMP + TCP = a failed poll)',
        `fault -> down stored: p50 ${round(sd.p50)} / p95 ${round(sd.p95)} / max ${round(sd.max)} s; -> P1 ticket: p50 ${round(
          st.p50,
        )} / p95 ${round(st.p95)} s; -> websocket: p50 ${round(sw.p50)} / p95 ${round(sw.p95)} s (n=${sw.n}, missing ${missing})`,
        `agent crash (SIGKILL) -> site alert ${round(crashS, 3)} s (${crash?.reason ?? 'none'}); hung agent (SIGSTOP) -> ${round(
          hungS,
        )} s (${hung?.reason ?? 'none'}) vs 1.5 x keepalive = ${hungTarget} s`,
        'paper baseline: Zabbix ICMP ~180 s, Zabbix agent/SNMP unavailable 300 s, Prometheus + Alertmanager 30-162 s, ' +
          'Uptime Kuma 60 s, Poly Lens user-set (30 min example)',
      );
      const figures: Figure[] = [
        {
          name: 'fault -> P1 ticket, median',
          value: round(st.p50),
          unit: 's',
          baseline: PAPER_BASELINE_S,
          baselineName: 'Prometheus+Alertmanager default, on paper',
          target: '<= 12',
          ...(judged ? { met: st.p50 <= 12 && missing === 0 } : {}),
        },
        {
          name: 'fault -> P1 ticket, p95',
          value: round(st.p95),
          unit: 's',
          baseline: 180,
          baselineName: 'Zabbix ICMP default, on paper',
          target: '<= 5 (1 s liveness check between polls)',
          ...(judged ? { met: st.p95 <= 5 && missing === 0 } : {}),
        },
        { name: 'fault -> websocket delta, p95', value: round(sw.p95), unit: 's' },
        {
          name: 'agent crash -> site alert',
          value: round(crashS, 3),
          unit: 's',
          target: '<= 1',
          met: crashS <= 1,
        },
        {
          name: 'hung agent -> site alert',
          value: round(hungS),
          unit: 's',
          target: `<= ${hungTarget} (1.5 x keepalive)`,
          met: hungS <= hungTarget,
        },
      ];
      return { figures, notes };
    } finally {
      unpin();
      ws.terminate();
      if (agentProc !== undefined) {
        agentProc.proc.kill('SIGCONT');
        await agentProc.stop('SIGKILL');
      }
      await hub.close();
    }
  } finally {
    await fleet.stop();
    tmp.remove();
  }
}

export const scenario: Scenario = { id: 'B3', title: 'detection latency (fault -> down -> ticket -> websocket)', run };
