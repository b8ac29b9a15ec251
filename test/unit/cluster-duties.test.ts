/**
 * Issue 16: PartitionDuties (hub/cluster/partition-duties.ts) answers from the lease manager's held partitions, tells
 * duties when a partition is gained or lost; a single node holds every site. The detector's "agent offline after
 * missed heartbeats" runs only for a site this node holds (another node watches the others' agents).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { LeaseManager, LeaseManagerEvents } from '../../hub/cluster/lease-manager.ts';
import { dutiesOf, leaseDuties, SINGLE_NODE_DUTIES } from '../../hub/cluster/partition-duties.ts';
import { partitionOf } from '../../hub/cluster/partitions.ts';
import { DetectionConfig } from '../../hub/config.ts';
import { Detector } from '../../hub/outage/detector.ts';
import type { SiteAlert } from '../../hub/types.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { makeHealthRecord, makeHeartbeat, makePresence } from '../helpers/health-record.ts';

const N = 4;
const SITES = Array.from({ length: 40 }, (_, i) => `site-${i}`);
const siteIn = (k: number) => SITES.find((s) => partitionOf(s, N) === k) as string;

/** The part of a LeaseManager the duties use: held partitions and the acquired/lost events. */
class FakeManager extends EventEmitter<LeaseManagerEvents> {
  readonly held = new Map<number, number>();
  epochOf(partition: number): number | undefined {
    return this.held.get(partition);
  }
  gain(partition: number, epoch: number): void {
    this.held.set(partition, epoch);
    this.emit('acquired', partition, epoch, null);
  }
  lose(partition: number): void {
    this.held.delete(partition);
    this.emit('lost', partition, 'not-renewed');
  }
}

describe('PartitionDuties', () => {
  it('holds a site while its partition is held, with that epoch; says when partitions come and go', () => {
    const manager = new FakeManager();
    const duties = leaseDuties(manager as unknown as LeaseManager, N);
    const changes: string[] = [];
    const off = duties.onChange(({ partition, isHeld }) => changes.push(`${partition}:${isHeld}`));
    expect(duties.isClustered).toBe(true);
    expect(duties.holds(siteIn(1))).toBe(false);
    manager.gain(1, 7);
    expect(duties.holds(siteIn(1))).toBe(true);
    expect(duties.epochFor(siteIn(1))).toBe(7);
    expect(duties.holds(siteIn(2))).toBe(false);
    expect(duties.epochFor(siteIn(2))).toBeUndefined();
    manager.lose(1);
    expect(duties.holds(siteIn(1))).toBe(false);
    off();
    manager.gain(3, 1);
    expect(changes).toEqual(['1:true', '1:false']);
  });

  it('a single node (or a context without duties) holds every site and writes unfenced', () => {
    expect(SINGLE_NODE_DUTIES.holds('any-site')).toBe(true);
    expect(SINGLE_NODE_DUTIES.epochFor('any-site')).toBeUndefined();
    expect(dutiesOf({})).toBe(SINGLE_NODE_DUTIES);
    const mine = leaseDuties(new FakeManager() as unknown as LeaseManager, N);
    expect(dutiesOf({ duties: mine })).toBe(mine);
  });
});

describe('detector: agent offline after missed heartbeats, at the holder only', () => {
  for (const isHeld of [true, false]) {
    it(isHeld ? 'held site: the silent agent goes offline' : 'site held elsewhere: no offline, no site alert', () => {
      const clock = new ManualClock('2026-03-02T10:00:00.000Z');
      const alerts: SiteAlert[] = [];
      const detector = new Detector({
        config: DetectionConfig.parse({}),
        clock,
        sink: { transition: () => {}, siteAlert: (a) => alerts.push(a), agentPresence: () => {} },
        isInMaintenance: () => false,
        deviceInfo: () => undefined,
        holds: () => isHeld,
      });
      const inbound = <T>(message: T) => ({
        message,
        agentId: 'agent-1',
        site: 'site-a',
        clientId: 'external',
        receivedAtMs: clock.now(),
      });
      detector.onPresence(inbound(makePresence('online', { devices: ['SN-1'] })));
      detector.onHealth(inbound(makeHealthRecord({ serial: 'SN-1', at: clock.now() })));
      detector.onHeartbeat(inbound(makeHeartbeat({ intervalMs: 10_000, at: clock.now() })));
      clock.advance(10 * 60_000);
      expect(detector.agentStatus('agent-1')).toBe(isHeld ? 'offline' : 'online');
      expect(alerts.map((a) => a.reason)).toEqual(isHeld ? ['heartbeat-missed'] : []);
    });
  }
});
