/** The agent's recent records per device (agent/record-trace.ts): capped, only the newest keeps its evidence. */
import { describe, expect, it } from 'vitest';
import { RecordTrace } from '../../agent/record-trace.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';

const withEvidence = (seq: number, serial = 'SN-1') =>
  makeHealthRecord(
    { serial, seq },
    { evidence: [{ field: 'uptimeS', source: 'rest', path: '/rest/system', value: String(seq) }] },
  );

describe('RecordTrace', () => {
  it('keeps the last N records per device, oldest first; only the newest keeps its evidence', () => {
    const trace = new RecordTrace(3);
    for (let seq = 1; seq <= 5; seq++) trace.push(withEvidence(seq));
    trace.push(withEvidence(1, 'SN-2'));
    const list = trace.of('SN-1');
    expect(list.map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(list.map((r) => r.evidence.length)).toEqual([0, 0, 1]);
    expect(trace.of('SN-2').map((r) => r.seq)).toEqual([1]);
    expect(trace.of('nobody')).toEqual([]);
  });

  it('older entries share unchanged identity and components objects; changed ones keep their own', () => {
    const trace = new RecordTrace(10);
    trace.push(withEvidence(1));
    trace.push(withEvidence(2));
    const changed = withEvidence(3);
    trace.push({ ...changed, components: [] });
    trace.push(withEvidence(4));
    const [first, second, third] = trace.of('SN-1');
    expect(second?.identity).toBe(first?.identity);
    expect(second?.components).toBe(first?.components);
    expect(third?.components).toEqual([]);
    expect(third?.identity).toBe(second?.identity);
  });
});
