/**
 * Everything the agent keeps per network device: its REST client (one session, one keep-alive socket),
 * its SNMP client, what it saw last (uptime, down or up, the last REST detail read), and the poll itself:
 * REST + SNMP in parallel, then a TCP connect probe only when REST failed (or is not configured), each
 * with quick retries bounded by the poll interval, then normalisation into one health record.
 * REST reads its detail endpoints only when needed (`planRest`); light polls carry the last detail over.
 */
import type { Logger } from 'pino';
import type { AgentConfig, AgentDevice } from '../protocols/agent-config.ts';
import { DeviceError } from '../protocols/clients/device-error.ts';
import { PolyRestClient } from '../protocols/clients/poly-rest.ts';
import type {
  Cameras,
  Microphones,
  Peripherals,
  SystemInfo,
  SystemStatus,
} from '../protocols/clients/poly-rest-schemas.ts';
import {
  createV2cClient,
  createV3Client,
  type SharedV2cSocket,
  type SnmpClient,
  SnmpType,
} from '../protocols/clients/snmp.ts';
import type { SshTarget } from '../protocols/clients/ssh.ts';
import { type Clock, monotonicNow } from '../protocols/clock.ts';
import type { Evidence, Probe } from '../protocols/health.ts';
import type { DeviceEvent } from '../protocols/messages.ts';
import type { CertTrustStore } from './cert-trust.ts';
import type { IdentityChannel, IdentityStore, RebootLedger } from './identity-trust.ts';
import {
  type DeviceObservation,
  normalise,
  type RecordContext,
  type RecordDraft,
  statusFromRestState,
} from './normalise.ts';
import { FULL_READ, isMaybeInCall, pollRest, type RestObservation, type RestReadPlan } from './poll/rest.ts';
import { isRestDue, isRestWantedAfterSnmp, type SnmpVerdict, snmpChangeKey } from './poll/rest-cadence.ts';
import { type Attempted, withRetries } from './poll/retry.ts';
import { pollSnmp, type SnmpObservation } from './poll/snmp.ts';
import { tcpConnect } from './poll/tcp.ts';

export type DeviceEventType = DeviceEvent['type'];

export interface PollerDeps {
  config: AgentConfig;
  certs: CertTrustStore;
  /** Known SSH host keys (trusted on first use, like certificates). */
  hostKeys: IdentityStore;
  /** Where the poller records the reboots it sees (the only thing that lets an identity change). */
  ledger: RebootLedger;
  snmpSocket: SharedV2cSocket;
  clock: Clock;
  logger: Logger;
  emitEvent: (serial: string, type: DeviceEventType, detail: string) => void;
}

/**
 * The REST detail reads (microphones, cameras, peripherals) run at least this often, and at once whenever the status
 * list changes or shows a problem, SNMP shows a change, a trap or a command asks (S1 reads them every 60 s, with no
 * SNMP, traps or status-driven reads beside). A full read costs 6-7 requests against 2: every 60 s it was most of the
 * agent's REST cost once REST itself is read every 60 s (bench B8).
 */
export const DETAIL_EVERY_MS = 300_000;

interface DetailRead {
  microphones: Microphones | undefined;
  cameras: Cameras | undefined;
  peripherals: Peripherals | undefined;
  at: string;
  atMs: number;
  /** A microphone or camera missing or disconnected: read the detail again on every poll. */
  hasProblem: boolean;
}

/** The status list in one string (name=state), to notice any change. */
function statusKey(status: SystemStatus | undefined): string {
  if (!status) return '';
  let key = '';
  for (const item of status) key += `${item.name}=${item.stateList[0] ?? ''};`;
  return key;
}

/** Any status item that reads as failed (down, some_down, all_down, offline...). */
function hasStatusProblem(status: SystemStatus | undefined): boolean {
  return status?.some((item) => statusFromRestState(item.stateList[0]) === 'failed') ?? false;
}
/** Uptime may lag the wall clock a little between polls; a drop larger than this is a reboot. */
const REBOOT_TOLERANCE_S = 30;
/** Uptime never decreases on a running device; more than this backwards is a reboot, however young the device. */
const UPTIME_JITTER_S = 2;

/**
 * A reboot: uptime went backwards (beyond jitter), or it grew far less than the time that passed (the device
 * rebooted and has been up a while again since the last poll).
 */
export function isReboot(uptimeS: number, lastUptimeS: number, expectedS: number): boolean {
  if (uptimeS + UPTIME_JITTER_S < lastUptimeS) return true;
  return uptimeS + REBOOT_TOLERANCE_S < expectedS && uptimeS < lastUptimeS + REBOOT_TOLERANCE_S;
}

const DOWN_KINDS = new Set(['timeout', 'refused', 'unreachable']);

/**
 * The last REST read as this poll's observation: its uptime advanced by the time since (SNMP showed no reboot, or
 * REST would have been read), so the hub's uptime-based reboot checks see a device that keeps running, and the next
 * real read after a reboot shows the drop.
 */
function carriedRead(last: LastRestRead, nowMs: number): RestObservation {
  const { system } = last.value;
  const uptime =
    typeof system.uptime === 'number' ? Math.round(system.uptime + (nowMs - last.atMs) / 1000) : system.uptime;
  return { ...last.value, system: { ...system, uptime }, readAt: last.readAt };
}

interface LastRestRead {
  probe: Probe;
  value: RestObservation;
  readAt: string;
  atMs: number;
  /** What SNMP showed in the poll of that read (undefined: SNMP did not answer cleanly then). */
  snmpKey: string | undefined;
}

export class DevicePoller {
  readonly device: AgentDevice;
  private readonly deps: PollerDeps;
  private rest: PolyRestClient | undefined;
  private snmp: SnmpClient | undefined;
  private lastUptime: { uptimeS: number; atMs: number } | undefined;
  private lastSnmpUptime: { uptimeS: number; atMs: number } | undefined;
  private wasDown = false;
  private failing = new Set<string>();
  /** The newest REST detail read (microphones, cameras, peripherals), carried into light polls. */
  private lastDetail: DetailRead | undefined;
  private lastStatusKey: string | undefined;
  /** The last poll saw a call (REST conferences or SNMP): read the call over REST every poll. */
  private wasInCall = false;
  /** The peripheral list of this poll's REST read (undefined when REST did not answer): see peripherals.ts. */
  peripherals: Peripherals | undefined;
  /** The last successful REST read, carried into the polls that do not read REST (poll/rest-cadence.ts). */
  private lastRest: LastRestRead | undefined;
  /** The next poll reads REST whatever the cadence says. */
  private isRestForced = false;
  /** This poll's REST read was asked for by a change (SNMP, trap, command): it reads the detail too. */
  private isDetailWanted = false;
  /** When a channel last answered a poll (monotonic ms): the liveness check skips a device that just answered. */
  private lastAnswerAtMs: number | undefined;

  constructor(device: AgentDevice, deps: PollerDeps) {
    this.device = device;
    this.deps = deps;
  }

  private get timeoutMs(): number {
    return this.deps.config.requestTimeoutMs;
  }

  restClient(): PolyRestClient | undefined {
    const settings = this.device.rest;
    if (!settings || !this.device.channels.includes('rest')) return undefined;
    this.rest ??= new PolyRestClient({
      host: this.device.address,
      port: settings.port,
      username: settings.username,
      password: settings.password,
      timeoutMs: this.timeoutMs,
      maxLogBytes: this.deps.config.logCache.maxArchiveBytes,
      // the idle connection is kept for the next poll only when that comes before it would be closed anyway
      ...(this.deps.config.restIntervalMs <= this.timeoutMs * 10 ? { idleSocketMs: this.timeoutMs * 10 } : {}),
      checkCertificate: (fingerprint) =>
        this.deps.certs.checkWithEvidence(this.device, fingerprint, () => this.seekRebootEvidence('rest')),
    });
    return this.rest;
  }

  /** How to reach the device's CLI, with its host key checked (trust on first use) before any password. */
  sshTarget(timeoutMs: number): SshTarget | undefined {
    const ssh = this.device.ssh;
    if (!ssh) return undefined;
    return {
      host: this.device.address,
      port: ssh.port,
      username: ssh.username,
      password: ssh.password,
      privateKeyPath: ssh.privateKeyPath,
      timeoutMs,
      verifyHostKey: (fingerprint) =>
        this.deps.hostKeys.checkWithEvidence(this.device.serial, fingerprint, () => this.seekRebootEvidence('ssh')),
    };
  }

  /**
   * An identity changed: read the device's uptime now over another channel (SNMP sysUpTime; for SSH also
   * REST) so that a real reboot is seen before the change is decided. Never throws.
   */
  async seekRebootEvidence(channel: IdentityChannel): Promise<void> {
    const snmp = this.snmpClient();
    if (snmp) {
      try {
        const [vb] = await snmp.get(['1.3.6.1.2.1.1.3.0']);
        if (vb?.type === SnmpType.TimeTicks && typeof vb.value === 'number') this.noteSnmpUptime(vb.value / 100);
        return;
      } catch {
        // no SNMP answer: try REST below
      }
    }
    const rest = channel === 'rest' ? undefined : this.restClient();
    if (!rest) return;
    try {
      const system = await rest.getSystem();
      if (typeof system.uptime === 'number') this.noteUptime(system.uptime, 'REST');
    } catch {
      // no evidence
    }
  }

  snmpClient(): SnmpClient | undefined {
    const settings = this.device.snmp;
    if (!settings || !this.device.channels.includes('snmp')) return undefined;
    if (!this.snmp) {
      const target = { host: this.device.address, port: settings.port, timeoutMs: this.timeoutMs };
      this.snmp =
        settings.version === '3' && settings.v3
          ? createV3Client(target, settings.v3)
          : createV2cClient(this.deps.snmpSocket, target, settings.community ?? 'public');
    }
    return this.snmp;
  }

  answeredAtMs(): number | undefined {
    return this.lastAnswerAtMs;
  }

  /** The TCP port probed for reachability: REST's, else SSH's. */
  tcpPort(): number | undefined {
    if (this.device.channels.includes('rest')) return this.device.rest?.port ?? 443;
    if (this.device.channels.includes('ssh')) return this.device.ssh?.port ?? 22;
    return undefined;
  }

  private policy(deadlineMs: number) {
    const { retries, retryBackoffMs } = this.deps.config;
    // never plan more attempts than fit in the poll interval
    const fit = Math.max(0, Math.floor(deadlineMs / (this.timeoutMs + retryBackoffMs)) - 1);
    return { retries: Math.min(retries, fit), backoffMs: retryBackoffMs, clock: this.deps.clock };
  }

  private noteUptime(uptimeS: number, source: string): void {
    const nowMs = monotonicNow(this.deps.clock);
    const last = this.lastUptime;
    if (last) {
      const expected = last.uptimeS + (nowMs - last.atMs) / 1000;
      if (isReboot(uptimeS, last.uptimeS, expected)) {
        this.deps.emitEvent(
          this.device.serial,
          'reboot-detected',
          `${source} uptime went from ${Math.round(last.uptimeS)} s to ${Math.round(uptimeS)} s`,
        );
        this.deps.ledger.rebootSeen(this.device.serial);
      }
    }
    this.lastUptime = { uptimeS, atMs: nowMs };
  }

  /** SNMP agent uptime going backwards = a reboot (reported as an event when REST cannot say it). */
  private noteSnmpUptime(uptimeS: number): void {
    const nowMs = monotonicNow(this.deps.clock);
    const last = this.lastSnmpUptime;
    if (last && isReboot(uptimeS, last.uptimeS, last.uptimeS + (nowMs - last.atMs) / 1000)) {
      this.deps.ledger.rebootSeen(this.device.serial);
      if (!this.device.channels.includes('rest')) {
        this.deps.emitEvent(
          this.device.serial,
          'reboot-detected',
          `SNMP sysUpTime went from ${Math.round(last.uptimeS)} s to ${Math.round(uptimeS)} s`,
        );
      }
    }
    this.lastSnmpUptime = { uptimeS, atMs: nowMs };
  }

  private logTransition(channel: string, probe: Probe): void {
    const log = this.deps.logger;
    if (!probe.ok && !this.failing.has(channel)) {
      this.failing.add(channel);
      log.warn({ serial: this.device.serial, channel, error: probe.error }, 'channel failed');
    } else if (probe.ok && this.failing.delete(channel)) {
      log.warn({ serial: this.device.serial, channel }, 'channel recovered');
    }
  }

  /**
   * What this poll reads over REST beyond identity and the status list. Detail (microphones, cameras,
   * peripherals) on the first poll, every DETAIL_EVERY_MS, whenever the status list changes or shows a
   * problem, and while the last detail read showed one; calls while the device may be in one.
   */
  private planRest(system: SystemInfo, status: SystemStatus | undefined): RestReadPlan {
    const nowMs = monotonicNow(this.deps.clock);
    const key = statusKey(status);
    const last = this.lastDetail;
    const detail =
      this.isDetailWanted ||
      last === undefined ||
      nowMs - last.atMs >= Math.max(DETAIL_EVERY_MS, this.deps.config.pollIntervalMs) ||
      key !== this.lastStatusKey ||
      last.hasProblem ||
      hasStatusProblem(status);
    this.lastStatusKey = key;
    const calls = detail || this.wasInCall || isMaybeInCall(system);
    return { detail, calls };
  }

  /** Keep the newest detail read, or complete a light read with it (evidence says when it was read). */
  private carryDetail(value: RestObservation, plan: RestReadPlan, observedAt: string): void {
    if (plan.detail) {
      const hasProblem =
        value.microphones?.length === 0 ||
        value.cameras?.length === 0 ||
        value.cameras?.some((c) => c.connected === false) === true ||
        value.peripherals?.some((p) => /DISCONNECT|UNPAIRED/i.test(p.deviceState ?? '')) === true;
      this.lastDetail = {
        microphones: value.microphones,
        cameras: value.cameras,
        peripherals: value.peripherals,
        at: observedAt,
        atMs: monotonicNow(this.deps.clock),
        hasProblem,
      };
      return;
    }
    const last = this.lastDetail;
    if (!last) return;
    if (last.microphones) value.microphones = last.microphones;
    if (last.cameras) value.cameras = last.cameras;
    if (last.peripherals) value.peripherals = last.peripherals;
    value.detailReadAt = last.at;
  }

  private async pollRestChannel(rest: PolyRestClient, budgetMs: number, observedAt: string) {
    let plan: RestReadPlan = FULL_READ;
    const result = await withRetries(this.policy(budgetMs / 2), 'rest', () =>
      pollRest(rest, (system, status) => {
        plan = this.planRest(system, status);
        return plan;
      }),
    );
    if (result.value) {
      this.carryDetail(result.value, plan, observedAt);
      if (plan.calls) this.wasInCall = (result.value.conferences?.length ?? 0) > 0;
    } else {
      // after a failure (reboot, outage, certificate) the next good poll reads everything again
      this.lastDetail = undefined;
      this.lastStatusKey = undefined;
    }
    return result;
  }

  async poll(ctx: RecordContext): Promise<RecordDraft> {
    const { clock } = this.deps;
    const observedAt = new Date(clock.now()).toISOString();
    const budgetMs = Math.max(this.timeoutMs, this.deps.config.pollIntervalMs * 0.8);
    const obs: DeviceObservation = { device: this.device, observedAt };
    const evidence: Evidence[] = [];

    const port = this.tcpPort();
    const snmp = this.snmpClient();
    const rest = this.restClient();
    const nowMs = monotonicNow(clock);
    const isRestFirst =
      rest !== undefined &&
      isRestDue({
        nowMs,
        intervalMs: this.deps.config.restIntervalMs,
        pollIntervalMs: this.deps.config.pollIntervalMs,
        hasSnmp: snmp !== undefined,
        isForced: this.isRestForced,
        isWatchful: this.isWatchful(),
        lastReadAtMs: this.lastRest?.atMs,
      });
    this.isDetailWanted = this.isRestForced;
    this.isRestForced = false;
    const probeTcp = () =>
      port === undefined
        ? undefined
        : withRetries(this.policy(budgetMs / 2), 'tcp', () => tcpConnect(this.device.address, port, this.timeoutMs));
    // REST and SNMP in parallel; the TCP connect probe only when REST is absent or failed (it tells "down"
    // from "the web service is broken"): a REST answer already proves the TCP port accepts connections.
    const [firstRest, snmpResult, firstTcp] = await Promise.all([
      rest === undefined || !isRestFirst ? undefined : this.pollRestChannel(rest, budgetMs, observedAt),
      snmp === undefined ? undefined : withRetries(this.policy(budgetMs / 2), 'snmp', () => pollSnmp(snmp)),
      rest === undefined ? probeTcp() : undefined,
    ]);
    // Not read up front: SNMP decides - anything new (or no clean answer) reads REST now, else the last read is carried.
    const snmpVerdict = this.snmpVerdict(snmpResult);
    let restResult = firstRest;
    let carriedFrom: string | undefined;
    if (rest !== undefined && !isRestFirst) {
      const last = this.lastRest;
      if (last === undefined || isRestWantedAfterSnmp(snmpVerdict, last.snmpKey)) {
        this.isDetailWanted = last !== undefined;
        restResult = await this.pollRestChannel(rest, budgetMs / 2, observedAt);
      } else {
        restResult = { probe: last.probe, value: carriedRead(last, nowMs) };
        carriedFrom = last.readAt;
      }
    }
    if (rest !== undefined && carriedFrom === undefined) {
      this.lastRest = restResult?.value
        ? {
            probe: restResult.probe,
            value: restResult.value,
            readAt: observedAt,
            atMs: nowMs,
            snmpKey: snmpVerdict.key,
          }
        : undefined;
    }
    const tcp = firstTcp ?? (restResult && !restResult.value ? await probeTcp() : undefined);
    if (tcp) obs.tcp = tcp.probe;
    else if (restResult?.value && port !== undefined) {
      obs.tcp = { ok: true, attempts: 1 };
      evidence.push({
        field: 'reachability.tcp',
        source: 'tcp',
        path:
          carriedFrom === undefined
            ? `tcp ${this.device.address}:${port} (not probed: the REST exchange on this port succeeded)`
            : `tcp ${this.device.address}:${port} (not probed: REST answered on it at ${carriedFrom}, SNMP answered now)`,
        value: 'ok',
      });
    }
    if (snmpResult) {
      const value = snmpResult.value;
      const probe = { ...snmpResult.probe };
      if (value && value.typeErrors.length > 0) {
        probe.ok = false;
        probe.error = new DeviceError('parse', `snmp: wrong SNMP types: ${value.typeErrors.join('; ')}`).toProbeError();
      }
      obs.snmp = { probe, value };
      const snmpUptime = value?.values.sysUpTime;
      if (typeof snmpUptime === 'number') this.noteSnmpUptime(snmpUptime / 100);
      const active = value?.values.conferenceNumberActiveConferences;
      if (typeof active === 'number' && active > 0) this.wasInCall = true;
    }
    // A timeout or a refused connect never lets a certificate change (an on-path attacker can cause those):
    // only an uptime reset does (noteUptime / noteSnmpUptime).
    const tcpDown = tcp?.error !== undefined && DOWN_KINDS.has(tcp.error.kind);

    this.peripherals = restResult?.value?.peripherals;
    if (rest && restResult) {
      obs.rest = { probe: restResult.probe, value: restResult.value };
      if (restResult.value) {
        // a carried read's uptime is old: it would look like a reboot
        if (carriedFrom === undefined && typeof restResult.value.system.uptime === 'number')
          this.noteUptime(restResult.value.system.uptime, 'REST');
      } else if (tcpDown || (restResult.error && DOWN_KINDS.has(restResult.error.kind))) {
        rest.reset();
      }
      const fingerprint = rest.lastFingerprint;
      if (fingerprint)
        evidence.push({
          field: 'tls.fingerprint256',
          source: 'rest',
          path: `https://${this.device.address}:${port}`,
          value: fingerprint,
        });
    }
    const down = (obs.tcp === undefined || !obs.tcp.ok) && (obs.snmp === undefined || !obs.snmp.probe.ok);
    this.wasDown = down;
    // answered now (a carried REST read is not an answer)
    if (snmpResult?.probe.ok || tcp?.probe.ok || (carriedFrom === undefined && restResult?.value !== undefined)) {
      this.lastAnswerAtMs = monotonicNow(clock);
    }
    obs.evidence = evidence;
    if (obs.tcp) this.logTransition('tcp', obs.tcp);
    if (obs.rest) this.logTransition('rest', obs.rest.probe);
    if (obs.snmp) this.logTransition('snmp', obs.snmp.probe);
    return normalise(obs, ctx);
  }

  /** The next poll reads REST whatever the cadence says (a trap, a liveness miss, a command asked for a poll). */
  requestRestRead(): void {
    this.isRestForced = true;
  }

  /**
   * Something is wrong on this device: REST is read on every poll until it settles. A call is not: its start and end
   * change SNMP's conference count (a read at once), and in between its statistics are read on the cadence (the hub's
   * call-quality rule keeps the worst value seen in a call).
   */
  private isWatchful(): boolean {
    return (
      this.wasDown ||
      this.failing.size > 0 ||
      this.lastDetail?.hasProblem === true ||
      hasStatusProblem(this.lastRest?.value.status)
    );
  }

  /** SNMP's answer as the REST cadence reads it (clean or not, what it showed, a reboot). Changes nothing. */
  private snmpVerdict(result: Attempted<SnmpObservation> | undefined): SnmpVerdict {
    const value = result?.value;
    if (result?.probe.ok !== true || value === undefined || value.typeErrors.length > 0) {
      return { isClean: false, key: undefined, isReboot: false };
    }
    const uptime = value.values.sysUpTime;
    const last = this.lastSnmpUptime;
    const elapsedS = last === undefined ? 0 : (monotonicNow(this.deps.clock) - last.atMs) / 1000;
    const sawReboot =
      typeof uptime === 'number' && last !== undefined && isReboot(uptime / 100, last.uptimeS, last.uptimeS + elapsedS);
    return { isClean: true, key: snmpChangeKey(value), isReboot: sawReboot };
  }

  get isDown(): boolean {
    return this.wasDown;
  }

  async close(): Promise<void> {
    await this.rest?.logout();
    this.snmp?.close();
  }
}
