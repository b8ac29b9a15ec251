/**
 * Fuzz door: device REST answers (protocols/clients/poly-rest.ts parsing and its schemas, the agent's REST poll,
 * normalisation into a health record, the record's encoding). Each case is one poll of a device whose every
 * endpoint answers a fuzzed status and body: JSON shaped like Poly's (fields dropped, retyped, oversized),
 * any JSON, text, bytes, HTML, deep nesting, cut JSON. The agent must publish a valid record every time, with
 * a clear REST error when it refused an answer.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceError } from '../../protocols/clients/device-error.ts';
import { PolyRestClient, type RawResponse } from '../../protocols/clients/poly-rest.ts';
import { ProbeErrorKind } from '../../protocols/health.ts';
import { assertClearError, fuzzDoor, hostileBody, shaped } from '../helpers/agent-fuzz-door.ts';
import { tempDir } from '../helpers/agent-harness.ts';
import { pollerFixture } from '../helpers/agent-poller-fixture.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** What a healthy Poly answers (poly-devices.md §1.3), the seeds of the shaped fuzz. */
const SAMPLES: Record<string, unknown> = {
  '/rest/current/session': { success: true, session: { sessionId: 'PSabcdefghijklmnopqrstuvwxyz0123456789ABCD' } },
  '/rest/system': {
    build: '412233',
    hardwareVersion: '1',
    lanStatus: { state: 'LAN_UP', speedMbps: 1000, duplex: 'FULL' },
    model: 'Poly Studio X50',
    rebootNeeded: false,
    serialNumber: 'FUZZ0001',
    softwareVersion: '4.6.2.412233',
    state: 'READY',
    systemName: 'Room 1',
    systemTime: 1764470000000,
    uptime: 693845.31,
  },
  '/rest/system/status': [{ name: 'camera', langtag: 'x', stateList: ['STATE_OK'] }],
  '/rest/audio/microphones': [{ number: 1, state: 'CONNECTED', typeInString: 'Internal', mute: 0 }],
  '/rest/cameras/near/all': [{ cameraIndex: 1, name: 'Main', model: 'EagleEye', connected: true }],
  '/rest/conferences': [{ id: 1, isActive: true }],
  '/rest/conferences/1/mediastats': [
    {
      mediaDirection: 'RX',
      mediaType: 'VIDEO',
      jitter: 3,
      packetLoss: 0,
      percentPacketLoss: 0,
      actualBitRate: 1,
      latency: 20,
    },
  ],
  '/rest/current/devicemanagement/devices': [
    {
      deviceCategory: 'X',
      deviceState: 'CONNECTED',
      deviceType: 'T',
      productName: 'TC8',
      serialNumber: 'S',
      macAddress: 'M',
      uid: 'U',
    },
  ],
};
const PATHS = Object.keys(SAMPLES);

const answerArb = (path: string): fc.Arbitrary<RawResponse> =>
  fc.record({
    status: fc.oneof(
      { weight: 12, arbitrary: fc.constant(200) },
      { weight: 1, arbitrary: fc.constantFrom(204, 302, 400, 401, 403, 404, 500, 503) },
    ),
    contentType: fc.constantFrom('application/json', 'text/html', ''),
    body: fc.oneof(
      { weight: 2, arbitrary: fc.constant(Buffer.from(JSON.stringify(SAMPLES[path]))) },
      { weight: 1, arbitrary: hostileBody(shaped(SAMPLES[path])) },
    ),
  });

const caseArb = fc.record(
  Object.fromEntries(PATHS.map((p) => [p, answerArb(p)])) as Record<string, fc.Arbitrary<RawResponse>>,
);

/** A REST client whose HTTP exchange answers from the current case (everything above it is the real client). */
class FuzzedRestClient extends PolyRestClient {
  answers: Record<string, RawResponse> = {};
  override request(method: string, path: string): Promise<RawResponse> {
    if (method === 'DELETE') return Promise.resolve({ status: 200, contentType: '', body: Buffer.alloc(0) });
    const key = /^\/rest\/conferences\/[^/]+\/mediastats$/.test(path) ? '/rest/conferences/1/mediastats' : path;
    const answer = this.answers[key === '/rest/session' ? '/rest/current/session' : key];
    if (!answer) return Promise.reject(new DeviceError('http', `${method} ${path}: no answer in this case`));
    return Promise.resolve(answer);
  }
}

describe('fuzz: device REST answers', () => {
  it('every answer gives a valid health record; a refused one a clear REST error', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const client = new FuzzedRestClient({
      host: '127.0.0.1',
      port: 1,
      username: 'admin',
      password: 'fuzz-password',
      timeoutMs: 1000,
      checkCertificate: () => undefined,
    });
    const fixture = await pollerFixture(
      tmp.dir,
      { channels: ['rest'], rest: { password: 'fuzz-password', tls: { mode: 'insecure' } } },
      { rest: client },
    );
    cleanups.push(fixture.close);
    const summary = await fuzzDoor('agent-rest-answers', caseArb, async (answers, i) => {
      client.answers = answers;
      // every few cases a fresh session, so logins are fuzzed too
      if (i % 4 === 0) client.reset();
      const record = await fixture.pollAndEncode(i);
      const rest = record.reachability.rest;
      if (rest?.ok) return 'accepted';
      const error = rest?.error;
      if (!error) throw new Error('REST failed without an error');
      ProbeErrorKind.parse(error.kind);
      assertClearError(new Error(error.message), 'rest error');
      return 'rejected';
    });
    expect(summary.crashes).toBe(0);
    expect(summary.unhandled).toBe(0);
    expect(summary.accepted).toBeGreaterThan(0);
    expect(summary.rejected).toBeGreaterThan(0);
    expect(summary.growthMiB).toBeLessThan(512);
  });
});
