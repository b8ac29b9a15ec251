/**
 * The real agent in its own process (so it can be killed, hung with SIGSTOP, or measured from /proc).
 * IPC: {cmd:'start', config} (raw AgentConfig) -> {ev:'started', trapPort?}; every health record -> counted;
 *      {cmd:'stats'} -> {ev:'stats', records, failedRecords, snmpOk, cpuMs, rssMb, memory (process.memoryUsage())};
 *      {cmd:'heap-snapshot', file} -> {ev:'heap-snapshot', file} (v8.writeHeapSnapshot, for bench/b8-probe.ts).
 */
import { writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import { type Agent, createAgent } from '../../agent/agent.ts';
import { buildAgentConfig } from '../../agent/config.ts';

let agent: Agent | undefined;
let records = 0;
let failedRecords = 0;
let snmpOk = 0;
const send = (m: Record<string, unknown>) => process.send?.(m);

process.on('message', (m: { cmd: string } & Record<string, any>) => {
  if (m.cmd === 'start') {
    const config = buildAgentConfig(m.config);
    agent = createAgent(config, { logger: pino({ level: process.env.HEZO_BENCH_AGENT_LOG ?? 'silent' }) });
    agent.on('record', (r) => {
      records += 1;
      if (Object.values(r.reachability).some((p) => p !== undefined && !p.ok)) failedRecords += 1;
      if (r.reachability.snmp?.ok === true) snmpOk += 1;
    });
    void agent.start().then(() => send({ ev: 'started', trapPort: agent?.stats.traps?.port }));
  } else if (m.cmd === 'heap-snapshot') {
    send({ ev: 'heap-snapshot', file: writeHeapSnapshot(m.file) });
  } else if (m.cmd === 'stats') {
    const cpu = process.cpuUsage();
    send({
      ev: 'stats',
      records,
      failedRecords,
      snmpOk,
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssMb: process.memoryUsage.rss() / 2 ** 20,
      memory: process.memoryUsage(),
    });
  }
});
const stop = () => {
  void (agent?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
};
process.on('disconnect', stop);
process.on('SIGTERM', stop);
