/**
 * A dead unit noticed in seconds: between full polls, each device is checked about once every `intervalMs`, the
 * devices spread over the interval in slots (`MIN_SLOT_MS`): SNMP v2c devices with one GET of sysUpTime in one prepared datagram
 * (snmp-ping.ts: the cheapest check there is, a third of a TCP connect's CPU), the others with a bare TCP connect to
 * their service port (no TLS, no login). A missed SNMP check is followed at once by a TCP connect (the next check,
 * early: a lost datagram costs no time); when that one answers, the device is checked over TCP for a while
 * (`TCP_FALLBACK_CHECKS`), then over SNMP again. After
 * `missesToConfirm` misses in a row the agent confirms at once through the other channels (an SNMP get of
 * sysUpTime and one more TCP connect, in parallel, each with the liveness timeout) instead of waiting for the
 * next poll. A device whose regular poll got an answer within the interval is skipped at its turn: the poll was the
 * check (with 10-s polls one check in ten; with polls as frequent as the checks, nearly all). A confirmed miss is
 * published as a health record with every channel failed: the hub's detector counts it as a failed poll. While misses
 * go on, each further miss confirms again, at most `maxConfirmsPerEpisode` times until the port answers again (then
 * the regular polls carry on alone).
 */
import type { Logger } from 'pino';
import type { AgentDevice } from '../protocols/agent-config.ts';
import { DeviceError, toDeviceError } from '../protocols/clients/device-error.ts';
import { createV2cClient, createV3Client, type SharedV2cSocket, type SnmpClient } from '../protocols/clients/snmp.ts';
import { type Clock, monotonicNow } from '../protocols/clock.ts';
import type { Probe } from '../protocols/health.ts';
import type { DeviceObservation } from './normalise.ts';
import { tcpConnect } from './poll/tcp.ts';
import { SnmpPinger } from './snmp-ping.ts';

export interface LivenessConfig {
  intervalMs: number;
  timeoutMs: number;
  missesToConfirm: number;
  maxConfirmsPerEpisode: number;
}

export interface LivenessTarget {
  device: AgentDevice;
  /** The TCP port probed (REST's, else SSH's); devices without one are not watched. */
  tcpPort(): number | undefined;
  /**
   * When one of the device's channels last answered a poll (the clock's monotonic ms), undefined before the first
   * answer: a device whose poll answered within the interval is not checked again (its poll was the check).
   */
  answeredAtMs?(): number | undefined;
}

export interface LivenessProbes {
  /** A TCP connect (a confirmation: two quick attempts); resolves with a probe, never rejects. */
  tcp(device: AgentDevice, port: number, isConfirm: boolean): Promise<Probe>;
  /** A confirmation SNMP get of sysUpTime (two quick attempts); undefined when the device has no SNMP. */
  snmp(device: AgentDevice): Promise<Probe> | undefined;
  /** The regular check of an SNMP v2c device (one datagram); undefined when it has no v2c SNMP: TCP then. */
  ping?(device: AgentDevice): Promise<Probe> | undefined;
  close?(): void;
}

export interface LivenessDeps {
  clock: Clock;
  logger: Logger;
  probes: LivenessProbes;
  /** A confirmed miss: the observation to normalise and publish as a health record. */
  onConfirmedMiss: (observation: DeviceObservation) => void;
}

interface Watched {
  target: LivenessTarget;
  port: number;
  misses: number;
  confirms: number;
  isChecking: boolean;
  isConfirming: boolean;
  /** A miss arrived while a confirmation ran: confirm again when it ends. */
  isConfirmWanted: boolean;
  /** Checks left over TCP before SNMP is tried again (SNMP was silent while TCP answered). */
  tcpChecksLeft: number;
}

/**
 * The checks go out in slots at least this far apart (200 devices: 50 every 250 ms; each device still once per
 * interval): the answers to one slot come back together and are read in a few wakeups, not one each (bench B8: the
 * checks alone cost 2.7 % of a core in 20-ms slots, 2.6 in 100-ms, 1.9-2.4 in 250-ms ones).
 */
const MIN_SLOT_MS = 250;
/** After SNMP stayed silent while the TCP port answered: this many checks over TCP, then SNMP again. */
export const TCP_FALLBACK_CHECKS = 300;

export class LivenessWatch {
  private readonly watched: Watched[] = [];
  private cursor = 0;
  private cancel: (() => void) | undefined;
  private running = false;
  /** Checks made (of them over SNMP) and missed, confirmations run and confirmed (for tests and the footprint bench). */
  readonly counters = { checks: 0, snmpChecks: 0, skipped: 0, misses: 0, confirmations: 0, confirmed: 0 };

  constructor(
    targets: readonly LivenessTarget[],
    private readonly config: LivenessConfig,
    private readonly deps: LivenessDeps,
  ) {
    for (const target of targets) {
      const port = target.tcpPort();
      if (port === undefined) continue;
      this.watched.push({
        target,
        port,
        misses: 0,
        confirms: 0,
        isChecking: false,
        isConfirming: false,
        isConfirmWanted: false,
        tcpChecksLeft: 0,
      });
    }
  }

  start(): void {
    if (this.running || this.watched.length === 0) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.cancel?.();
    this.cancel = undefined;
    this.deps.probes.close?.();
  }

  /** One slot: check the next few devices so that each is checked once per interval. */
  private schedule(): void {
    const n = this.watched.length;
    const slotMs = Math.max(MIN_SLOT_MS, this.config.intervalMs / n);
    const perSlot = Math.max(1, Math.round((n * slotMs) / this.config.intervalMs));
    this.cancel = this.deps.clock.setTimer(slotMs, () => {
      if (!this.running) return;
      for (let i = 0; i < perSlot; i++) {
        const w = this.watched[this.cursor] as Watched;
        this.cursor = (this.cursor + 1) % n;
        if (w.isChecking) continue;
        if (this.isAnsweredJustNow(w)) this.counters.skipped++;
        else void this.check(w);
      }
      this.schedule();
    });
  }

  /** Its poll answered within the interval and no miss is being counted: this turn's check would say nothing new. */
  private isAnsweredJustNow(w: Watched): boolean {
    if (w.misses > 0 || w.isConfirming || w.tcpChecksLeft > 0) return false;
    const at = w.target.answeredAtMs?.();
    return at !== undefined && monotonicNow(this.deps.clock) - at < this.config.intervalMs;
  }

  /** One check; `viaTcp`: the TCP connect that follows at once a missed SNMP check. */
  private async check(w: Watched, viaTcp = false): Promise<void> {
    w.isChecking = true;
    this.counters.checks++;
    const ping = viaTcp || w.tcpChecksLeft > 0 ? undefined : this.deps.probes.ping?.(w.target.device);
    if (ping) this.counters.snmpChecks++;
    else if (!viaTcp && w.tcpChecksLeft > 0) w.tcpChecksLeft--;
    const probe = await (ping ?? this.deps.probes.tcp(w.target.device, w.port, false));
    w.isChecking = false;
    if (!this.running) return;
    if (probe.ok) {
      if (w.misses >= this.config.missesToConfirm) {
        this.deps.logger.info({ serial: w.target.device.serial }, 'liveness: port answers again');
      }
      // SNMP silent while the TCP port answers: the SNMP check says nothing about this unit now, TCP for a while
      if (viaTcp) w.tcpChecksLeft = TCP_FALLBACK_CHECKS;
      w.misses = 0;
      w.confirms = 0;
      return;
    }
    this.counters.misses++;
    w.misses++;
    if (w.misses < this.config.missesToConfirm || w.confirms >= this.config.maxConfirmsPerEpisode) {
      // a missed SNMP check (one datagram: maybe lost) is checked again at once with a TCP connect
      if (ping && w.confirms < this.config.maxConfirmsPerEpisode) void this.check(w, true);
      return;
    }
    if (w.isConfirming) {
      w.isConfirmWanted = true;
      return;
    }
    void this.confirm(w, probe);
  }

  private async confirm(w: Watched, lastMiss: Probe): Promise<void> {
    w.isConfirming = true;
    w.isConfirmWanted = false;
    this.counters.confirmations++;
    const device = w.target.device;
    const observedAt = new Date(this.deps.clock.now()).toISOString();
    const [tcp, snmp] = await Promise.all([this.deps.probes.tcp(device, w.port, true), this.deps.probes.snmp(device)]);
    w.isConfirming = false;
    if (!this.running) return;
    if (tcp.ok || snmp?.ok) {
      // the unit answers: a lost packet or a busy port, not a dead unit
      this.deps.logger.debug({ serial: device.serial, tcp: tcp.ok, snmp: snmp?.ok }, 'liveness: miss not confirmed');
      // start counting again (a unit whose port stays closed while SNMP answers is confirmed at most every 2 checks)
      w.misses = 0;
      // SNMP silent, TCP answering: the SNMP check says nothing about this unit for now; check it over TCP
      if (tcp.ok && snmp?.ok !== true) w.tcpChecksLeft = TCP_FALLBACK_CHECKS;
      return;
    }
    w.confirms++;
    this.counters.confirmed++;
    this.deps.logger.warn(
      { serial: device.serial, misses: w.misses, tcp: tcp.error?.kind, snmp: snmp?.error?.kind },
      'liveness: miss confirmed',
    );
    const observation: DeviceObservation = {
      device,
      observedAt,
      tcp,
      evidence: [
        {
          field: 'reachability.tcp',
          source: 'tcp',
          path: `liveness tcp ${device.address}:${w.port} every ${this.config.intervalMs} ms`,
          value: `${w.misses} misses in a row (last: ${lastMiss.error?.message ?? 'failed'}); confirmed by ${
            snmp ? 'SNMP get and ' : ''
          }another TCP connect`,
        },
      ],
    };
    if (snmp) observation.snmp = { probe: snmp };
    this.deps.onConfirmedMiss(observation);
    if (w.isConfirmWanted && w.confirms < this.config.maxConfirmsPerEpisode) void this.confirm(w, lastMiss);
  }
}

/**
 * The real probes: a TCP connect (check: one attempt with the liveness timeout; confirmation: two attempts with half
 * of it each, so one lost packet cannot confirm a miss), an SNMP get of sysUpTime (two attempts with half the
 * timeout; v2c on the agent's shared socket, or v3).
 */
export function realLivenessProbes(timeoutMs: number, snmpSocket: SharedV2cSocket): LivenessProbes {
  const clients = new Map<string, SnmpClient>();
  const pinger = new SnmpPinger(timeoutMs);
  const half = Math.max(25, Math.floor(timeoutMs / 2));
  const probe = async (run: () => Promise<unknown>, what: string, attempts: number): Promise<Probe> => {
    const started = performance.now();
    let last: DeviceError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await run();
        return { ok: true, attempts: attempt, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
      } catch (err) {
        last = err instanceof DeviceError ? err : toDeviceError(err, what);
      }
    }
    return {
      ok: false,
      attempts,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
      ...(last ? { error: last.toProbeError() } : {}),
    };
  };
  return {
    tcp: (device, port, isConfirm) =>
      isConfirm
        ? probe(() => tcpConnect(device.address, port, half), 'tcp', 2)
        : probe(() => tcpConnect(device.address, port, timeoutMs), 'tcp', 1),
    snmp(device) {
      const s = device.snmp;
      if (!s || !device.channels.includes('snmp')) return undefined;
      let client = clients.get(device.serial);
      if (!client) {
        const target = { host: device.address, port: s.port, timeoutMs: half };
        client =
          s.version === '3' && s.v3
            ? createV3Client(target, s.v3)
            : createV2cClient(snmpSocket, target, s.community ?? 'public');
        clients.set(device.serial, client);
      }
      const c = client;
      return probe(() => c.get(['1.3.6.1.2.1.1.3.0']), 'snmp', 2);
    },
    ping(device) {
      const s = device.snmp;
      if (s?.version !== '2c' || !device.channels.includes('snmp')) return undefined;
      return pinger.ping(device.address, s.port, s.community ?? 'public');
    },
    close() {
      for (const client of clients.values()) client.close();
      clients.clear();
      pinger.close();
    },
  };
}
