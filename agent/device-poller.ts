/**
 * Everything the agent keeps per network device: its REST client (one session, one keep-alive socket),
 * its SNMP client, what it saw last (uptime, down or up), and the poll itself:
 * TCP connect + SNMP in parallel, then REST (skipped when TCP says the device is gone), each with
 * quick retries bounded by the poll interval, then normalisation into one health record.
 */
import type { Logger } from 'pino';
import type { AgentConfig, AgentDevice } from '../protocols/agent-config.ts';
import { DeviceError } from '../protocols/clients/device-error.ts';
import { PolyRestClient } from '../protocols/clients/poly-rest.ts';
import { createV2cClient, createV3Client, type SharedV2cSocket, type SnmpClient } from '../protocols/clients/snmp.ts';
import type { Clock } from '../protocols/clock.ts';
import type { Evidence, Probe } from '../protocols/health.ts';
import type { DeviceEvent } from '../protocols/messages.ts';
import type { CertTrustStore } from './cert-trust.ts';
import { type DeviceObservation, normalise, type RecordContext, type RecordDraft } from './normalise.ts';
import { pollRest } from './poll/rest.ts';
import { withRetries } from './poll/retry.ts';
import { pollSnmp } from './poll/snmp.ts';
import { tcpConnect } from './poll/tcp.ts';

export type DeviceEventType = DeviceEvent['type'];

export interface PollerDeps {
  config: AgentConfig;
  certs: CertTrustStore;
  snmpSocket: SharedV2cSocket;
  clock: Clock;
  logger: Logger;
  emitEvent: (serial: string, type: DeviceEventType, detail: string) => void;
}

const DOWN_KINDS = new Set(['timeout', 'refused', 'unreachable']);
/** Uptime may lag the wall clock a little between polls; a drop larger than this is a reboot. */
const REBOOT_TOLERANCE_S = 30;

export class DevicePoller {
  readonly device: AgentDevice;
  private readonly deps: PollerDeps;
  private rest: PolyRestClient | undefined;
  private snmp: SnmpClient | undefined;
  private lastUptime: { uptimeS: number; atMs: number } | undefined;
  private lastSnmpUptime: { uptimeS: number; atMs: number } | undefined;
  private snmpWasOk = false;
  private wasDown = false;
  private failing = new Set<string>();

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
      checkCertificate: (fingerprint) => this.deps.certs.check(this.device, fingerprint),
    });
    return this.rest;
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
    const nowMs = this.deps.clock.now();
    const last = this.lastUptime;
    if (last) {
      const expected = last.uptimeS + (nowMs - last.atMs) / 1000;
      if (uptimeS + REBOOT_TOLERANCE_S < expected && uptimeS < last.uptimeS + REBOOT_TOLERANCE_S) {
        this.deps.emitEvent(
          this.device.serial,
          'reboot-detected',
          `${source} uptime went from ${Math.round(last.uptimeS)} s to ${Math.round(uptimeS)} s`,
        );
        this.deps.certs.expectChange(this.device.serial);
      }
    }
    this.lastUptime = { uptimeS, atMs: nowMs };
  }

  /** SNMP agent uptime going backwards = a reboot (reported as an event when REST cannot say it). */
  private noteSnmpUptime(uptimeS: number): void {
    const nowMs = this.deps.clock.now();
    const last = this.lastSnmpUptime;
    if (last && uptimeS + REBOOT_TOLERANCE_S < last.uptimeS + (nowMs - last.atMs) / 1000 && uptimeS < last.uptimeS) {
      this.deps.certs.expectChange(this.device.serial);
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

  async poll(ctx: RecordContext): Promise<RecordDraft> {
    const { clock } = this.deps;
    const observedAt = new Date(clock.now()).toISOString();
    const budgetMs = Math.max(this.timeoutMs, this.deps.config.pollIntervalMs * 0.8);
    const obs: DeviceObservation = { device: this.device, observedAt };
    const evidence: Evidence[] = [];

    const port = this.tcpPort();
    const snmp = this.snmpClient();
    const [tcp, snmpResult] = await Promise.all([
      port === undefined
        ? undefined
        : withRetries(this.policy(budgetMs / 2), 'tcp', () => tcpConnect(this.device.address, port, this.timeoutMs)),
      snmp === undefined ? undefined : withRetries(this.policy(budgetMs / 2), 'snmp', () => pollSnmp(snmp)),
    ]);
    if (tcp) obs.tcp = tcp.probe;
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
      // SNMP that used to answer and now does not: the device is down or rebooting
      if (snmpResult.error && DOWN_KINDS.has(snmpResult.error.kind) && this.snmpWasOk) {
        this.deps.certs.expectChange(this.device.serial);
      }
      this.snmpWasOk = snmpResult.error === undefined;
    }
    const tcpDown = tcp?.error !== undefined && DOWN_KINDS.has(tcp.error.kind);
    if (tcpDown) this.deps.certs.expectChange(this.device.serial);

    const rest = this.restClient();
    if (rest) {
      if (tcpDown && tcp?.error) {
        obs.rest = {
          probe: {
            ok: false,
            attempts: 1,
            error: new DeviceError(
              tcp.error.kind,
              `rest: not attempted, TCP port ${port} unreachable (${tcp.error.kind})`,
            ).toProbeError(),
          },
        };
        rest.reset();
      } else {
        const result = await withRetries(this.policy(budgetMs / 2), 'rest', () => pollRest(rest));
        obs.rest = { probe: result.probe, value: result.value };
        if (result.value) {
          this.deps.certs.settled(this.device.serial);
          if (typeof result.value.system.uptime === 'number') this.noteUptime(result.value.system.uptime, 'REST');
        } else if (result.error && DOWN_KINDS.has(result.error.kind)) {
          this.deps.certs.expectChange(this.device.serial);
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
    }
    const down = (obs.tcp === undefined || !obs.tcp.ok) && (obs.snmp === undefined || !obs.snmp.probe.ok);
    this.wasDown = down;
    obs.evidence = evidence;
    for (const [channel, probe] of [
      ['tcp', obs.tcp],
      ['rest', obs.rest?.probe],
      ['snmp', obs.snmp?.probe],
    ] as const) {
      if (probe) this.logTransition(channel, probe);
    }
    return normalise(obs, ctx);
  }

  get isDown(): boolean {
    return this.wasDown;
  }

  async close(): Promise<void> {
    await this.rest?.logout();
    this.snmp?.close();
  }
}
