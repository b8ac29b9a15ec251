import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HubBus } from '../../hub/events.ts';
import { createRecordLedgerModule } from '../../hub/ingest/record-ledger.ts';
import type { HealthRecord } from '../../protocols/health.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function capture() {
  const lines: { msg: string; missed?: number }[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as { msg: string });
        cb();
      },
    }),
  );
  return { lines, logger };
}

const health = (seq: number) =>
  ({
    agentId: 'agent-1',
    message: { seq, identity: { serial: '8L2X50-0001' } } as HealthRecord,
  }) as never;

describe('record ledger (diagnostics.recordLedger)', () => {
  it('one line per record through the bus, appended by every start of the node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hezo-ledger-'));
    dirs.push(dir);
    const file = join(dir, 'records.ledger');
    for (const seqs of [
      [0, 1],
      [2, 1],
    ]) {
      const bus = new HubBus();
      const ledger = createRecordLedgerModule({ file, node: 'hub-a', bus, logger: capture().logger });
      await ledger.start?.();
      for (const seq of seqs) bus.emit('ingest:health', health(seq));
      await ledger.stop?.();
      bus.emit('ingest:health', health(99)); // after stop: not written
    }
    expect(readFileSync(file, 'utf8')).toBe(
      [
        'agent-1 0 8L2X50-0001 hub-a',
        'agent-1 1 8L2X50-0001 hub-a',
        'agent-1 2 8L2X50-0001 hub-a',
        'agent-1 1 8L2X50-0001 hub-a',
        '',
      ].join('\n'),
    );
  });

  it('a full disk: records go on, the failure is logged once per failing stretch, not once per record', async () => {
    const bus = new HubBus((err) => {
      throw err;
    });
    const { lines, logger } = capture();
    const ledger = createRecordLedgerModule({ file: '/dev/full', node: 'hub-a', bus, logger });
    await ledger.start?.();
    for (let seq = 0; seq < 50; seq++) bus.emit('ingest:health', health(seq));
    await ledger.stop?.();
    expect(lines.filter((l) => l.msg === 'record ledger not written; lines missing')).toHaveLength(1);
  });
});
