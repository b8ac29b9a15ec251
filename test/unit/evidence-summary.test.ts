/** Issue 7: the machine-made ticket summary from service tests, the agent trace and the log archive. */
import { describe, expect, it } from 'vitest';
import { formatAge, summariseEvidence, tailLines } from '../../hub/evidence/summary.ts';

const fail = (kind: string) => ({ ok: false, error: { kind, message: kind } });
const ok = { ok: true };

function record(at: string, rest: object, snmp: object) {
  return { observedAt: at, reachability: { rest, snmp } as never };
}

describe('summariseEvidence', () => {
  it('names the failing channels with the start of their failure streak, the tests and the log lines', () => {
    const text = summariseEvidence({
      timeZone: 'Europe/Warsaw',
      trace: {
        at: '2025-03-10T09:50:00Z',
        records: [
          record('2025-03-10T09:40:00Z', ok, ok),
          record('2025-03-10T09:42:00Z', fail('auth'), fail('timeout')),
          record('2025-03-10T09:44:00Z', fail('auth'), fail('timeout')),
        ],
      },
      serviceTests: {
        at: '2025-03-10T09:50:00Z',
        tests: [
          { name: 'tcp-connect', ok: true },
          { name: 'rest-login', ok: false, error: { kind: 'auth' } },
          { name: 'snmp-sysuptime', ok: false, error: { kind: 'timeout' } },
          { name: 'ssh-status', ok: false, skipped: 'SSH not configured' },
        ],
      },
      logLines: [
        '2025-03-10 09:30:00.000 I/CallManager: call ended',
        '2025-03-10 09:41:00.000 E/CameraManager: camera "EagleEye IV" disconnected',
        '2025-03-10 09:43:00.000 I/SessionManager: login from 10.0.0.2',
      ],
    });
    expect(text).toContain('REST login refused since 10:42');
    expect(text).toContain('SNMP timeouts since 10:42');
    expect(text).toContain('service tests 1/3 passed (failed: rest-login auth, snmp-sysuptime timeout)');
    expect(text).toContain('last log lines mention camera');
    expect(text).toContain('camera "EagleEye IV" disconnected');
  });

  it('groups channels with the same problem and shows the date when it is another day', () => {
    const text = summariseEvidence({
      trace: {
        at: '2025-03-11T08:00:00Z',
        records: [record('2025-03-10T23:00:00Z', fail('timeout'), fail('timeout'))],
      },
    });
    expect(text).toBe('REST, SNMP timeouts since 2025-03-10 23:00');
  });

  it('names each failed component once, at most three', () => {
    const components = ['a', 'b', 'b', 'c', 'd'].map((name) => ({ kind: 'camera', name, status: 'failed' }));
    const text = summariseEvidence({
      trace: { records: [{ observedAt: '2025-03-10T09:42:00Z', reachability: { rest: ok }, components }] },
    });
    expect(text).toBe('camera "a" failed, camera "b" failed, camera "c" failed and 1 more');
  });

  it('a channel that recovered in the newest record is not reported', () => {
    const text = summariseEvidence({
      trace: { records: [record('2025-03-10T09:42:00Z', fail('timeout'), ok), record('2025-03-10T09:43:00Z', ok, ok)] },
      serviceTests: {
        tests: [
          { name: 'tcp-connect', ok: true },
          { name: 'rest-login', ok: true },
        ],
      },
    });
    expect(text).toBe('service tests 2/2 passed');
  });

  it('states a cached archive with its capture time and age, or why there are no logs', () => {
    const cached = summariseEvidence({
      collectedAt: '2025-03-10T12:05:00Z',
      logs: { cached: true, capturedAt: '2025-03-10T10:00:00Z' },
    });
    expect(cached).toBe('logs from the cached archive captured 10:00, 2 h 5 min old');
    const missing = summariseEvidence({ logs: { missing: 'rest logs: timeout' } });
    expect(missing).toBe('no device logs (rest logs: timeout)');
  });

  it('reports microphone and network lines, and quiet logs as such', () => {
    expect(
      summariseEvidence({ logLines: ['2025-01-01 10:00:00.000 E/AudioManager: microphone "Kitten" missing'] }),
    ).toContain('last log lines mention microphone, error');
    expect(
      summariseEvidence({ logLines: ['2025-01-01 10:00:00.000 W/NetworkMonitor: packet loss detected on eth0 (12%)'] }),
    ).toContain('network');
    expect(summariseEvidence({ logLines: ['2025-01-01 10:00:00.000 I/CallManager: call started'] })).toBe(
      'last log lines show no camera, microphone, network or error messages',
    );
  });

  it('says so when there is nothing, and stays short', () => {
    expect(summariseEvidence({})).toBe('no evidence collected yet');
    const long = summariseEvidence({
      logLines: [`2025-01-01 10:00:00.000 E/CameraManager: camera ${'x'.repeat(2000)} failed`],
      serviceTests: {
        tests: Array.from({ length: 100 }, (_, i) => ({ name: `test-${i}`, ok: false, error: { kind: 'timeout' } })),
      },
    });
    expect(long.length).toBeLessThanOrEqual(600);
  });
});

describe('helpers', () => {
  it('tailLines sorts timestamped lines from several files and keeps the newest', () => {
    const lines = [
      '2025-01-01 10:00:02.000 b',
      '',
      '# comment',
      '2025-01-01 10:00:01.000 a',
      '2025-01-01 10:00:03.000 c',
    ];
    expect(tailLines(lines, 2)).toEqual(['2025-01-01 10:00:02.000 b', '2025-01-01 10:00:03.000 c']);
  });

  it('formatAge', () => {
    expect(formatAge(40 * 60_000)).toBe('40 min');
    expect(formatAge(120 * 60_000)).toBe('2 h');
    expect(formatAge(76 * 3_600_000)).toBe('3 d 4 h');
  });
});
