/**
 * B5 reconnect storm: 2,000 simulated agents (child, core 1; 5 devices each, nominal load running) connected to a
 * complete hub in its own process (core 0); the hub is SIGKILLed and restarted on the same SQLite file and ports.
 * Figures: time from the restarted hub listening to every agent back (CONNACK), hub RSS peak during the storm,
 * tickets opened and site alerts raised by the restarted hub (a storm would open one per device).
 * Two runs: (a) agents with plain passwords in the hub config (checked as an HMAC, no scrypt): the broker + hub
 * cost of the storm; (b) agents with a scrypt `passwordHash` (N=2^14): each login after a restart costs one
 * scrypt (~100 ms of CPU here; `scrypt$10$...` hashes cost ~16x less),
 *     so (b) runs fewer agents and the 2,000-agent time is extrapolated from its login rate (quick);
 *     full runs (b) with all 2,000.
 */
import { join } from 'node:path';
import type { Figure, Profile, Scenario } from './harness.ts';
import { round } from './harness.ts';
import {
  AGENT_PASSWORD,
  BENCH_DIR,
  benchAgents,
  benchHubConfig,
  Child,
  freePort,
  pinNote,
  sleep,
  tempDir,
  watchProcess,
} from './load/common.ts';
import { LoadGenerator } from './load/driver.ts';

const PROFILES = {
  tiny: { agents: 20, authAgents: 4, settleMs: 500, watchMs: 1000 },
  quick: { agents: 2000, authAgents: 12, settleMs: 2000, watchMs: 2000 },
  full: { agents: 2000, authAgents: 2000, settleMs: 15_000, watchMs: 30_000 },
} as const;
const DEVICES_PER_AGENT = 5;

interface HubStats {
  rssMb: number;
  mqttClients: number;
  ticketsOpened: number;
  siteAlertsRaised: number;
  toDown: number;
  toUnknown: number;
  health: number;
}

async function storm(agentCount: number, credential: 'plain' | 'scrypt', p: (typeof PROFILES)[Profile]) {
  const tmp = tempDir('b5');
  const agents = benchAgents(agentCount, credential === 'scrypt' ? 'b5a' : 'b5');
  const config = benchHubConfig({
    dataDir: tmp.dir,
    agents,
    credential,
    mqttPort: await freePort(),
    httpPort: await freePort(),
  });
  const dbFile = join(tmp.dir, 'hub.sqlite');
  const script = `${BENCH_DIR}/load/hub-proc.ts`;
  const startHub = async () => {
    const child = Child.start(script, { core: 0 });
    const { urls } = await child.request<{ urls: { mqttUrl: string } }>(
      { cmd: 'start', config, dbFile },
      'started',
      120_000,
    );
    return { child, urls };
  };
  const first = await startHub();
  const load = LoadGenerator.start(1);
  let second: Awaited<ReturnType<typeof startHub>> | undefined;
  try {
    await load.connect({
      url: first.urls.mqttUrl,
      agents,
      password: AGENT_PASSWORD,
      devicesPerAgent: DEVICES_PER_AGENT,
      reconnectMs: 1000,
      timeoutMs: 600_000,
    });
    const rate = (agentCount * DEVICES_PER_AGENT) / 10;
    const running = load.run(rate, 600_000);
    void running.catch(() => undefined);
    await sleep(p.settleMs);
    await first.child.stop('SIGKILL');
    const killedAt = performance.now();
    await sleep(500);
    const restartAt = performance.now();
    second = await startHub();
    const listeningAt = performance.now();
    const watch = watchProcess(second.child.pid, 100);
    let backMs: number | undefined;
    while (performance.now() - listeningAt < 180_000) {
      const s = await load.status();
      if (s.connected >= agentCount) {
        backMs = performance.now() - listeningAt;
        break;
      }
      await sleep(100);
    }
    await sleep(p.watchMs);
    const w = watch.stop();
    const stats = await second.child.request<HubStats>({ cmd: 'stats' }, 'stats', 10_000);
    return {
      agentCount,
      backMs,
      startMs: listeningAt - restartAt,
      downMs: restartAt - killedAt,
      rssPeakMb: w.rssPeak,
      cpuPct: w.cpuPct,
      stats,
    };
  } finally {
    await load.close();
    await (second ?? first).child.stop();
    await first.child.stop('SIGKILL');
    tmp.remove();
  }
}

async function run(profile: Profile) {
  const p = PROFILES[profile];
  const anon = await storm(p.agents, 'plain', p);
  const auth = await storm(p.authAgents, 'scrypt', p);
  const authPerS = auth.backMs !== undefined ? auth.agentCount / (auth.backMs / 1000) : Number.NaN;
  const authFor2000S = auth.agentCount >= 2000 ? (auth.backMs ?? Number.NaN) / 1000 : 2000 / authPerS;
  const judged = profile !== 'tiny';
  const backS = (anon.backMs ?? Number.NaN) / 1000;
  const storming = anon.stats.ticketsOpened + auth.stats.ticketsOpened;
  const figures: Figure[] = [
    {
      name: `${p.agents} agents back after hub restart (plain passwords, HMAC check)`,
      value: round(backS),
      unit: 's',
      target: '<= 10',
      ...(judged ? { met: backS <= 10 } : {}),
    },
    {
      name: 'hub RSS peak during the storm',
      value: round(anon.rssPeakMb),
      unit: 'MB',
      target: '<= 400',
      ...(judged ? { met: anon.rssPeakMb <= 400 } : {}),
    },
    { name: 'tickets opened by the restarted hub', value: storming, unit: 'tickets', target: '0', met: storming === 0 },
    {
      name: `2000 agents back with scrypt passwordHash N=2^14 (${auth.agentCount >= 2000 ? 'measured' : `extrapolated from ${auth.agentCount}`})`,
      value: round(authFor2000S),
      unit: 's',
      target: '<= 10',
      ...(judged ? { met: authFor2000S <= 10 } : {}),
    },
  ];
  const notes = [
    `${pinNote('hub process on core 0, agents on core 1')}; ${DEVICES_PER_AGENT} devices per agent, nominal load ` +
      '(every device every 10 s) running through the restart; agents reconnect every 1 s (MQTT.js)',
    `plain passwords: hub start ${round(anon.startMs, 0)} ms, all ${anon.agentCount} back ${round(backS)} s after listening, ` +
      `RSS peak ${round(anon.rssPeakMb)} MB, CPU ${round(anon.cpuPct)} %; restarted hub: ${JSON.stringify(anon.stats)}`,
    `scrypt passwordHash: ${auth.agentCount} agents back in ${round((auth.backMs ?? Number.NaN) / 1000)} s = ${round(
      authPerS,
    )} logins/s; restarted hub: ${JSON.stringify(auth.stats)}`,
  ];
  return { figures, notes };
}

export const scenario: Scenario = { id: 'B5', title: 'reconnect storm after a hub restart', run };
