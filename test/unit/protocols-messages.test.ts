import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { HealthRecord } from '../../protocols/health.ts';
import { decodeMessage, encodeMessage, MAX_BYTES, SCHEMAS } from '../../protocols/messages.ts';
import type { TopicKind } from '../../protocols/topics.ts';

const at = '2026-11-25T10:00:00.000Z';

function validHealth(): HealthRecord {
  return {
    v: 1,
    agentId: 'agent-1',
    site: 'krakow-hq',
    customer: 'acme',
    seq: 7,
    observedAt: at,
    replayed: false,
    pollIntervalMs: 10_000,
    identity: {
      serial: '8L200353429AFC',
      model: 'StudioX30',
      firmware: '3.12.0.366027',
      hostname: 'NH-StudioX30',
      mac: '00:e0:db:53:42:9a',
    },
    reachability: {
      rest: { ok: true, attempts: 1, latencyMs: 42 },
      snmp: { ok: false, attempts: 3, error: { kind: 'timeout', message: 'no answer in 1000 ms' } },
    },
    components: [{ kind: 'camera', name: 'Built-in camera', status: 'ok', source: 'rest' }],
    call: { inCall: true, activeCalls: 1, packetLossPct: 0.4, jitterMs: 12 },
    uptimeS: 693845,
    temperatureC: 41,
    evidence: [
      { field: 'camera', source: 'rest', path: '/rest/system/status', value: 'system.status.mr.camera=all_up' },
    ],
  };
}

const VALID: { [K in TopicKind]: unknown } = {
  presence: { v: 1, agentId: 'agent-1', site: 'krakow-hq', status: 'online', at, devices: ['8L200353429AFC'] },
  heartbeat: { v: 1, agentId: 'agent-1', at, intervalMs: 10_000, outboxDepth: 0, outboxDropped: 0 },
  health: validHealth(),
  event: {
    v: 1,
    agentId: 'agent-1',
    serial: 'SER1',
    at,
    replayed: false,
    type: 'snmp-trap',
    detail: 'primaryCameraDown',
    trapOid: '1.3.6.1.4.1.13885.101.0.76',
  },
  reply: { v: 1, id: 'cmd-000001', ok: true, data: { archive: 'logs.tgz' } },
  attachment: {
    v: 1,
    transferId: 'tr-000001',
    commandId: 'cmd-000001',
    serial: 'SER1',
    name: 'logs.tar.gz',
    kind: 'device-logs',
    seq: 0,
    total: 1,
    size: 5,
    sha256: 'a'.repeat(64),
    data: Buffer.from('hello').toString('base64'),
  },
  cmd: { v: 1, id: 'cmd-000001', kind: 'collect-logs', serial: 'SER1', issuedAt: at, timeoutMs: 30_000 },
};

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError, nothing was thrown');
}

function withHealth(mutate: (h: Record<string, any>) => void): string {
  const h = structuredClone(validHealth()) as Record<string, any>;
  mutate(h);
  return JSON.stringify(h);
}

describe('every schema accepts its valid message and round-trips', () => {
  for (const kind of Object.keys(SCHEMAS) as TopicKind[]) {
    it(kind, () => {
      const text = encodeMessage(kind, VALID[kind] as never);
      expect(decodeMessage(kind, Buffer.from(text))).toEqual(VALID[kind]);
    });
  }
  it('a failed reply is valid too', () => {
    const reply = { v: 1, id: 'cmd-000001', ok: false, code: 'DEVICE_TIMEOUT', error: 'no answer' };
    expect(decodeMessage('reply', JSON.stringify(reply))).toEqual(reply);
  });
});

describe('invalid messages: each error names the path, the expectation and the value received', () => {
  const cases: { name: string; kind: TopicKind; payload: string; code: ErrorCode; message: RegExp }[] = [
    {
      name: 'not JSON',
      kind: 'health',
      payload: '{"v":1,',
      code: ErrorCode.JSON_INVALID,
      message: /^health: expected JSON, got /,
    },
    {
      name: 'JSON but an array',
      kind: 'presence',
      payload: '[1,2]',
      code: ErrorCode.PAYLOAD_INVALID,
      message: /^presence: \(root\): expected object, received array/,
    },
    {
      name: 'wrong schema version',
      kind: 'health',
      payload: withHealth((h) => {
        h.v = 2;
      }),
      code: ErrorCode.SCHEMA_VERSION,
      message: /^health\.v: expected schema version 1, got 2$/,
    },
    {
      name: 'unknown top-level field',
      kind: 'health',
      payload: withHealth((h) => {
        h.colour = 'red';
      }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /colour: unknown field/,
    },
    {
      name: 'unknown nested field',
      kind: 'health',
      payload: withHealth((h) => {
        h.reachability.rest.extra = 1;
      }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /reachability\.rest\.extra: unknown field/,
    },
    {
      name: 'wrong type',
      kind: 'health',
      payload: withHealth((h) => {
        h.seq = 'seven';
      }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /seq: expected number, received string/,
    },
    {
      name: 'missing required field',
      kind: 'health',
      payload: withHealth((h) => {
        delete h.identity;
      }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /identity: expected object, received undefined/,
    },
    {
      name: 'bad enum inside an array',
      kind: 'health',
      payload: withHealth((h) => {
        h.components[0].status = 'broken';
      }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /components\[0\]\.status: expected one of "ok"\|"failed"\|"disabled"\|"unknown"/,
    },
    {
      name: 'number out of range',
      kind: 'health',
      payload: withHealth((h) => {
        h.call.packetLossPct = 140;
      }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /call\.packetLossPct: Too big: expected number to be <=100, got 140/,
    },
    {
      name: 'bad timestamp',
      kind: 'health',
      payload: withHealth((h) => {
        h.observedAt = 'yesterday';
      }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /observedAt: Invalid ISO datetime, got "yesterday"/,
    },
    {
      name: 'serial with a wildcard',
      kind: 'health',
      payload: withHealth((h) => {
        h.identity.serial = 'AB+#';
      }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /identity\.serial: expected a device serial .*got "AB\+#"/,
    },
    {
      name: 'no channel at all',
      kind: 'health',
      payload: withHealth((h) => {
        h.reachability = {};
      }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /reachability: expected at least one channel/,
    },
    {
      name: 'probe error of an unknown kind',
      kind: 'health',
      payload: withHealth((h) => {
        h.reachability.snmp.error.kind = 'gremlins';
      }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /reachability\.snmp\.error\.kind: expected one of/,
    },
    {
      name: 'oversized payload',
      kind: 'heartbeat',
      payload: JSON.stringify({ pad: 'x'.repeat(MAX_BYTES.heartbeat) }),
      code: ErrorCode.PAYLOAD_TOO_LARGE,
      message: /^heartbeat: expected at most 16384 bytes, got \d+$/,
    },
    {
      name: 'reply ok flag not boolean',
      kind: 'reply',
      payload: JSON.stringify({ v: 1, id: 'cmd-000001', ok: 'yes', data: {} }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /^reply: ok: /,
    },
    {
      name: 'command of an unknown kind',
      kind: 'cmd',
      payload: JSON.stringify({ ...(VALID.cmd as object), kind: 'format-disk' }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /kind: expected one of "collect-logs"\|"diagnose"\|"poll-now"/,
    },
    {
      name: 'correlation id too short',
      kind: 'cmd',
      payload: JSON.stringify({ ...(VALID.cmd as object), id: 'x' }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /id: expected a correlation id/,
    },
    {
      name: 'attachment with a path in its name',
      kind: 'attachment',
      payload: JSON.stringify({ ...(VALID.attachment as object), name: '../../etc/passwd' }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /name: expected a file name/,
    },
    {
      name: 'attachment data not base64',
      kind: 'attachment',
      payload: JSON.stringify({ ...(VALID.attachment as object), data: '!!!' }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /data: Invalid base64/,
    },
    {
      name: 'presence status unknown',
      kind: 'presence',
      payload: JSON.stringify({ ...(VALID.presence as object), status: 'sleepy' }),
      code: ErrorCode.PAYLOAD_INVALID,
      message: /status: expected one of "online"\|"offline"/,
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const err = errorOf(() => decodeMessage(c.kind, c.payload));
      expect(err.code).toBe(c.code);
      expect(err.message).toMatch(c.message);
    });
  }

  it('lists every issue, one line each', () => {
    const err = errorOf(() =>
      decodeMessage(
        'health',
        withHealth((h) => {
          h.seq = -1;
          h.site = '';
        }),
      ),
    );
    expect(err.details).toHaveLength(2);
    expect(err.details.some((line) => line.startsWith('seq: '))).toBe(true);
    expect(err.details.some((line) => line.startsWith('site: '))).toBe(true);
  });

  it('encodeMessage refuses to send an invalid message', () => {
    const bad = { ...validHealth(), seq: -5 };
    expect(errorOf(() => encodeMessage('health', bad)).code).toBe(ErrorCode.PAYLOAD_INVALID);
  });
});
