/**
 * Outage detection for the whole fleet: one pure `DeviceMachine` per device, plus agent liveness.
 * No I/O: time and timers come from the injected Clock, results go to the `DetectorSink` (the outage module
 * stores them, then announces them).
 *
 * - Replayed records (`replayed: true`), records older than `maxClockSkewMs`, and records older than the last
 *   live one of the same device are history: they never move a device (no out-of-order transitions).
 * - An agent is offline on its retained presence `offline` (Last Will or clean stop), or after
 *   `agentMissedHeartbeats` heartbeat intervals of silence. Its devices become `unknown` and ONE site alert is
 *   raised; the alert is cleared when the agent is heard from again. Devices stay `unknown` until their next record.
 * - Maintenance windows do not pause detection: transitions are marked `inMaintenance`. When a window ends with
 *   the device still down or degraded, the state is announced again (from === to, reason `maintenance-ended`).
 */
import type { Clock } from '../../protocols/clock.ts';
import type { HealthRecord } from '../../protocols/health.ts';
import type { DeviceEvent, Heartbeat, Presence } from '../../protocols/messages.ts';
import type { DetectionConfig } from '../config.ts';
import type { InboundMessage } from '../events.ts';
import type { AgentPresenceEvent, DeviceState, DeviceTransition, SiteAlert } from '../types.ts';
import { FaultStartTracker } from './fault-start.ts';
import { DeviceMachine, type MachineInit, type MachineTransition } from './machine.ts';

export interface DetectorSink {
  transition(transition: DeviceTransition): void;
  siteAlert(alert: SiteAlert): void;
  agentPresence(event: AgentPresenceEvent): void;
}

export interface DetectorDeps {
  config: Readonly<DetectionConfig>;
  clock: Clock;
  sink: DetectorSink;
  isInMaintenance(serial: string, site: string, atMs: number): boolean;
  /** Registered site/customer of a device, when the registry knows it. */
  deviceInfo(serial: string): { site: string; customer: string } | undefined;
  /** A device's flapping state changed (to store it: it must survive a restart). */
  onFlapState?(serial: string, events: readonly number[], isFlapping: boolean): void;
  /** Issue 16: false for a site whose partition another hub node holds (it watches that site's agents). */
  holds?(site: string): boolean;
}

export interface RestoredDevice extends MachineInit {
  serial: string;
  /** A stored `down`'s first failed poll. */
  faultAt?: string;
  site: string;
  customer: string;
  agentId: string | null;
}

interface TrackedDevice {
  machine: DeviceMachine;
  site: string;
  customer: string;
  agentId: string | null;
  lastLiveObservedMs: number;
  /** The last announced problem state was inside a maintenance window. */
  isMaintenanceAnnounced: boolean;
  /** The flapping state last reported to `onFlapState`: count, latest (-1: none), flag. */
  flapCount: number;
  flapLastMs: number;
  isFlapping: boolean;
}

type AgentStatus = 'unseen' | 'online' | 'offline';

interface TrackedAgent {
  agentId: string;
  site: string;
  status: AgentStatus;
  devices: Set<string>;
  lastHeardMs: number;
  heartbeatIntervalMs: number | undefined;
  cancelTimer: (() => void) | undefined;
}

export class Detector {
  private readonly deps: DetectorDeps;
  private readonly devices = new Map<string, TrackedDevice>();
  private readonly agents = new Map<string, TrackedAgent>();
  private readonly faultStart = new FaultStartTracker();

  constructor(deps: DetectorDeps) {
    this.deps = deps;
  }

  /** Device states from storage (before any message). */
  restore(devices: Iterable<RestoredDevice>): void {
    for (const d of devices) {
      const machine = new DeviceMachine(d.serial, this.deps.config, d);
      this.devices.set(d.serial, {
        machine,
        site: d.site,
        customer: d.customer,
        agentId: d.agentId,
        lastLiveObservedMs: 0,
        isMaintenanceAnnounced: false,
        flapCount: machine.flapCount,
        flapLastMs: machine.lastFlapMs,
        isFlapping: machine.isFlappingReported,
      });
      if (d.agentId !== null) this.agent(d.agentId, d.site).devices.add(d.serial);
    }
  }

  /** Returns whether the record was used as live state (false: history only). */
  onHealth(inbound: InboundMessage<HealthRecord>): boolean {
    const record = inbound.message;
    const now = this.deps.clock.now();
    const agent = this.touchAgent(inbound.agentId, inbound.site, now);
    const device = this.track(record.identity.serial, record.site, record.customer, agent);
    // Corrected by the agent's measured clock offset (hub/ingest/agent-clocks.ts).
    const observedMs = Date.parse(record.observedAt) - (inbound.clockOffsetMs ?? 0);
    this.faultStart.note(record.identity.serial, observedMs, isEveryChannelFailed(record));
    const isLive =
      !record.replayed &&
      observedMs >= device.lastLiveObservedMs &&
      now - observedMs <= this.deps.config.maxClockSkewMs;
    if (!isLive) return false;
    device.lastLiveObservedMs = observedMs;
    this.apply(record.identity.serial, device, device.machine.onHealth(record, now), now);
    return true;
  }

  onDeviceEvent(inbound: InboundMessage<DeviceEvent>): void {
    const event = inbound.message;
    const now = this.deps.clock.now();
    const agent = this.touchAgent(inbound.agentId, inbound.site, now);
    const atMs = Date.parse(event.at) - (inbound.clockOffsetMs ?? 0);
    if (event.replayed || now - atMs > this.deps.config.maxClockSkewMs) return;
    if (event.type !== 'device-gone' && event.type !== 'device-found' && event.type !== 'reboot-detected') return;
    const info = this.deps.deviceInfo(event.serial);
    const device = this.track(event.serial, info?.site ?? inbound.site, info?.customer ?? inbound.site, agent);
    this.apply(event.serial, device, device.machine.onDeviceEvent(event.type, now, event.detail), now);
  }

  onPresence(inbound: InboundMessage<Presence>): void {
    const presence = inbound.message;
    const now = this.deps.clock.now();
    const agent = this.agent(inbound.agentId, inbound.site);
    for (const serial of presence.devices ?? []) agent.devices.add(serial);
    if (presence.status === 'online') {
      this.touchAgent(inbound.agentId, inbound.site, now);
    } else {
      this.setOffline(agent, now, 'agent-offline', `agent ${agent.agentId} reported offline (Last Will or clean stop)`);
    }
  }

  onHeartbeat(inbound: InboundMessage<Heartbeat>): void {
    const now = this.deps.clock.now();
    const agent = this.touchAgent(inbound.agentId, inbound.site, now);
    if (agent.heartbeatIntervalMs !== inbound.message.intervalMs) {
      agent.heartbeatIntervalMs = inbound.message.intervalMs;
      agent.cancelTimer?.();
      agent.cancelTimer = undefined;
    }
    this.armHeartbeatTimer(agent);
  }

  /**
   * The device's records stopped being used (freshness deadline passed, hub/outage/freshness.ts): it becomes
   * `unknown` with reason `stale` until its next live record. Returns whether it moved.
   */
  markStale(serial: string, now: number, evidence: string[]): boolean {
    const device = this.devices.get(serial);
    if (device === undefined) return false;
    const transition = device.machine.onAgentOffline(now, 'stale', evidence);
    if (transition === null) return false;
    this.announce(serial, device, transition);
    return true;
  }

  /** Cancel every timer. */
  stop(): void {
    for (const agent of this.agents.values()) {
      agent.cancelTimer?.();
      agent.cancelTimer = undefined;
    }
  }

  state(
    serial: string,
  ): { state: DeviceState; sinceMs: number; reason: string; problems: string[]; agentId: string | null } | undefined {
    const device = this.devices.get(serial);
    if (device === undefined) return undefined;
    const m = device.machine;
    return { state: m.state, sinceMs: m.sinceMs, reason: m.reason, problems: m.problems, agentId: device.agentId };
  }

  serials(): IterableIterator<string> {
    return this.devices.keys();
  }

  agentStatus(agentId: string): AgentStatus {
    return this.agents.get(agentId)?.status ?? 'unseen';
  }

  /** The serials an agent watches (its presence list and the devices it sent records for). */
  agentDevices(agentId: string): ReadonlySet<string> | undefined {
    return this.agents.get(agentId)?.devices;
  }

  /** A device's poll interval (from its latest record; 10 s before any). */
  pollIntervalMs(serial: string): number {
    return this.devices.get(serial)?.machine.pollIntervalMs ?? 10_000;
  }

  private track(serial: string, site: string, customer: string, agent: TrackedAgent): TrackedDevice {
    let device = this.devices.get(serial);
    const isNew = device === undefined;
    if (device === undefined) {
      const info = this.deps.deviceInfo(serial);
      device = {
        machine: new DeviceMachine(serial, this.deps.config, undefined, this.deps.clock.now()),
        site: info?.site ?? site,
        customer: info?.customer ?? customer,
        agentId: agent.agentId,
        lastLiveObservedMs: 0,
        isMaintenanceAnnounced: false,
        flapCount: 0,
        flapLastMs: -1,
        isFlapping: false,
      };
      this.devices.set(serial, device);
    }
    if (device.agentId !== agent.agentId) {
      if (device.agentId !== null) this.agents.get(device.agentId)?.devices.delete(serial);
      device.agentId = agent.agentId;
      agent.devices.add(serial);
    } else if (isNew) {
      agent.devices.add(serial);
    }
    // else: already in its agent's set (added when it came to this agent, or by restore; agents are never replaced)
    return device;
  }

  private apply(serial: string, device: TrackedDevice, transition: MachineTransition | null, now: number): void {
    const m = device.machine;
    if (
      m.flapCount !== device.flapCount ||
      m.lastFlapMs !== device.flapLastMs ||
      m.isFlappingReported !== device.isFlapping
    ) {
      device.flapCount = m.flapCount;
      device.flapLastMs = m.lastFlapMs;
      device.isFlapping = m.isFlappingReported;
      const { events, isFlapping } = m.flapState();
      this.deps.onFlapState?.(serial, events, isFlapping);
    }
    if (transition !== null) {
      this.announce(serial, device, transition);
      return;
    }
    const state = device.machine.state;
    if (device.isMaintenanceAnnounced && (state === 'down' || state === 'degraded')) {
      if (!this.deps.isInMaintenance(serial, device.site, now)) {
        this.announce(serial, device, {
          from: state,
          to: state,
          atMs: now,
          reason: 'maintenance-ended',
          evidence: [
            `maintenance window ended with the device ${state} (${device.machine.reason})`,
            ...device.machine.evidence,
          ],
          problems: device.machine.problems,
        });
      }
    }
  }

  private announce(serial: string, device: TrackedDevice, t: MachineTransition): void {
    const inMaintenance = this.deps.isInMaintenance(serial, device.site, t.atMs);
    device.isMaintenanceAnnounced = inMaintenance && (t.to === 'down' || t.to === 'degraded');
    const faultMs = t.to === 'down' ? this.faultStart.firstFailedMs(serial) : undefined;
    const fault =
      faultMs !== undefined && faultMs < t.atMs
        ? {
            faultAt: new Date(faultMs).toISOString(),
            evidence: [
              `first failed poll at ${new Date(faultMs).toISOString()} (${Math.round((t.atMs - faultMs) / 1000)} s before detection)`,
              ...t.evidence,
            ],
          }
        : undefined;
    this.deps.sink.transition({
      serial,
      site: device.site,
      customer: device.customer,
      agentId: device.agentId,
      from: t.from,
      to: t.to,
      at: new Date(t.atMs).toISOString(),
      reason: t.reason,
      evidence: fault?.evidence ?? t.evidence,
      inMaintenance,
      problems: t.problems,
      ...(fault !== undefined ? { faultAt: fault.faultAt } : {}),
    });
  }

  private agent(agentId: string, site: string): TrackedAgent {
    let agent = this.agents.get(agentId);
    if (agent === undefined) {
      agent = {
        agentId,
        site,
        status: 'unseen',
        devices: new Set(),
        lastHeardMs: 0,
        heartbeatIntervalMs: undefined,
        cancelTimer: undefined,
      };
      this.agents.set(agentId, agent);
    }
    agent.site = site;
    return agent;
  }

  /** Any message from an agent: it is alive. */
  private touchAgent(agentId: string, site: string, now: number): TrackedAgent {
    const agent = this.agent(agentId, site);
    agent.lastHeardMs = now;
    if (agent.status !== 'online') {
      const wasOffline = agent.status === 'offline';
      agent.status = 'online';
      const at = new Date(now).toISOString();
      for (const serial of agent.devices) this.devices.get(serial)?.machine.onAgentOnline();
      if (wasOffline) {
        this.deps.sink.siteAlert({
          site: agent.site,
          agentId,
          status: 'cleared',
          at,
          reason: 'agent-back',
          serials: [...agent.devices],
        });
      }
      this.deps.sink.agentPresence({ agentId, site: agent.site, status: 'online', at });
    }
    this.armHeartbeatTimer(agent);
    return agent;
  }

  private armHeartbeatTimer(agent: TrackedAgent): void {
    if (agent.cancelTimer !== undefined || agent.heartbeatIntervalMs === undefined || agent.status !== 'online') return;
    const timeoutMs = agent.heartbeatIntervalMs * this.deps.config.agentMissedHeartbeats;
    const check = () => {
      agent.cancelTimer = undefined;
      if (agent.status !== 'online' || this.deps.holds?.(agent.site) === false) return;
      const now = this.deps.clock.now();
      const deadline = agent.lastHeardMs + timeoutMs;
      if (now >= deadline) {
        this.setOffline(
          agent,
          now,
          'heartbeat-missed',
          `no message from agent ${agent.agentId} for ${now - agent.lastHeardMs} ms`,
        );
      } else {
        agent.cancelTimer = this.deps.clock.setTimer(deadline - now, check);
      }
    };
    agent.cancelTimer = this.deps.clock.setTimer(timeoutMs, check);
  }

  private setOffline(agent: TrackedAgent, now: number, reason: string, line: string): void {
    if (agent.status === 'offline') return;
    agent.status = 'offline';
    agent.cancelTimer?.();
    agent.cancelTimer = undefined;
    for (const serial of agent.devices) {
      const device = this.devices.get(serial);
      if (device === undefined) continue;
      const transition = device.machine.onAgentOffline(now, 'agent-offline', [line]);
      if (transition !== null) this.announce(serial, device, transition);
    }
    const at = new Date(now).toISOString();
    this.deps.sink.siteAlert({
      site: agent.site,
      agentId: agent.agentId,
      status: 'raised',
      at,
      reason,
      serials: [...agent.devices],
    });
    this.deps.sink.agentPresence({ agentId: agent.agentId, site: agent.site, status: 'offline', at });
  }
}

function isEveryChannelFailed(record: HealthRecord): boolean {
  const reach = record.reachability as Readonly<Record<string, { ok: boolean } | undefined>>;
  let probes = 0;
  for (const channel in reach) {
    const probe = reach[channel];
    if (probe === undefined) continue;
    probes++;
    if (probe.ok) return false;
  }
  return probes > 0;
}
