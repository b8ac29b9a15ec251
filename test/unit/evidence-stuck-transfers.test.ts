/** Issue 19: a stalled evidence transfer is resumed by a timer, not only when its agent reconnects. */
import { describe, expect, it } from 'vitest';
import type { TransferRow } from '../../hub/evidence/store.ts';
import { watchStuckTransfers } from '../../hub/evidence/stuck-transfers.ts';
import { ManualClock } from '../../protocols/clock.ts';

function row(transferId: string, agentId: string, received: number[], total = 8): TransferRow {
  const bits = Buffer.alloc(Math.ceil(total / 8));
  for (const seq of received) bits[seq >> 3]! |= 1 << (seq & 7);
  return {
    transferId,
    commandId: `cmd-${transferId}`,
    ticketId: `HZ-${transferId}`,
    serial: `SN-${transferId}`,
    site: 'site-a',
    agentId,
    name: 'device-logs.tar.gz',
    kind: 'device-logs',
    capturedAt: null,
    size: 8000,
    sha256: '0'.repeat(64),
    total,
    chunkBytes: 1000,
    received: bits,
    receivedCount: received.length,
    receivedBytes: received.length * 1000,
    state: 'receiving',
    reason: null,
    storedName: null,
    storedSha256: null,
    storedSize: null,
    isAcked: false,
    createdAt: '2026-03-02T10:00:00.000Z',
  };
}

describe('stuck evidence transfers', () => {
  it('resumes a transfer with no progress between two looks, from its first missing chunk, agent online only', async () => {
    const clock = new ManualClock('2026-03-02T10:00:00.000Z');
    const rows = [row('t1', 'agent-1', [0, 1, 3]), row('t2', 'agent-1', [0]), row('t3', 'agent-off', [0])];
    const resumed: Array<{ serial: string; from: Record<string, number> }> = [];
    const tasks: Promise<void>[] = [];
    /** Advance the clock and wait for the look it started (the store is async). */
    const advance = async (ms: number) => {
      clock.advance(ms);
      await Promise.all(tasks.splice(0));
    };
    const stop = watchStuckTransfers({
      clock,
      everyMs: 60_000,
      transfersReceiving: () => Promise.resolve([...rows]),
      isOnline: (agentId) => agentId === 'agent-1',
      resume: (_target, serial, from) => {
        resumed.push({ serial, from });
        return Promise.resolve();
      },
      retryStore: () => Promise.reject(new Error('no transfer here is whole')),
      track: (task) => {
        tasks.push(task);
      },
    });
    await advance(60_000); // first look: nothing known yet
    expect(resumed).toEqual([]);
    rows[1] = row('t2', 'agent-1', [0, 1, 2]); // t2 progresses
    await advance(60_000);
    expect(resumed).toEqual([{ serial: 'SN-t1', from: { t1: 2 } }]);
    await advance(60_000); // still stuck: asked again; t2 is now stuck too
    expect(resumed.slice(1)).toEqual([
      { serial: 'SN-t1', from: { t1: 2 } },
      { serial: 'SN-t2', from: { t2: 3 } },
    ]);
    stop();
    await advance(600_000);
    expect(resumed).toHaveLength(3);
  });

  it('stores again a transfer that has every chunk but is still receiving, and never resumes it from total', async () => {
    const clock = new ManualClock('2026-03-02T10:00:00.000Z');
    // t1: every chunk in, its store failed (disk full); its agent may be offline, the hub has the bytes
    const rows = [row('t1', 'agent-off', [0, 1, 2, 3, 4, 5, 6, 7]), row('t2', 'agent-1', [0, 1, 2, 3, 4, 5, 6, 7])];
    const resumed: Record<string, number>[] = [];
    const stores: string[] = [];
    const tasks: Promise<void>[] = [];
    const stop = watchStuckTransfers({
      clock,
      everyMs: 60_000,
      transfersReceiving: () => Promise.resolve([...rows]),
      isOnline: (agentId) => agentId === 'agent-1',
      resume: (_target, _serial, from) => {
        resumed.push(from);
        return Promise.resolve();
      },
      retryStore: (transferId) => {
        stores.push(transferId);
        return Promise.resolve();
      },
      track: (task) => {
        tasks.push(task);
      },
    });
    const advance = async (ms: number) => {
      clock.advance(ms);
      await Promise.all(tasks.splice(0));
    };
    await advance(60_000); // first look: just seen
    expect(stores).toEqual([]);
    await advance(60_000);
    expect(stores).toEqual(['t1', 't2']);
    await advance(60_000); // still not stored: tried again
    expect(stores).toEqual(['t1', 't2', 't1', 't2']);
    expect(resumed).toEqual([]);
    stop();
  });
});
