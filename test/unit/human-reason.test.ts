import { describe, expect, it } from 'vitest';
import { humanReason, problemText } from '../../hub/tickets/human-reason.ts';

describe('device problems in words (issue 15)', () => {
  it('names the channels that did not answer', () => {
    const evidence = [
      '3 consecutive polls with every channel failed',
      'rest: timeout: connect timed out (2 attempts)',
      'snmp: timeout: no response (2 attempts)',
      'tcp: refused: ECONNREFUSED (1 attempt)',
    ];
    expect(humanReason('all-channels-failed', [], evidence)).toBe('no answer on REST, SNMP and TCP');
    expect(humanReason('all-channels-failed', [], [])).toBe('no answer on any channel');
  });

  it('says which component is missing, E70 by name', () => {
    expect(humanReason('component-failed', ['component-failed:camera'], [])).toBe('camera disconnected');
    expect(humanReason('component-failed', [], ['camera "Poly Studio E70": failed (rest)'])).toBe('E70 missing');
    expect(humanReason('component-failed', [], ['microphone "Mic 1": failed (snmp)'])).toBe('microphone missing');
    expect(problemText('channel-failed:snmp')).toBe('no answer on SNMP');
  });

  it('keeps other reasons readable and never a bare code', () => {
    expect(humanReason('flapping', ['flapping', 'component-failed:camera'], [])).toBe(
      'keeps dropping off (flapping), camera disconnected',
    );
    expect(humanReason('device-gone', [], [])).toBe('device gone from the agent');
    expect(humanReason('some-new-code', [], [])).toBe('some new code');
  });
});
