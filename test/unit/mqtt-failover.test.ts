/** Several broker URLs: rotation on failure, back-off doubling per full round, reset on connect. */
import { describe, expect, it } from 'vitest';
import { buildAgentConfig } from '../../agent/config.ts';
import { HubConfig } from '../../hub/config.ts';
import { hubNodeId } from '../../hub/node-id.ts';
import { buildConfig } from '../../protocols/config-common.ts';
import { BrokerFailover, brokerUrls, redactBrokerUrl } from '../../protocols/mqtt-failover.ts';

const A = 'mqtt://a:1883';
const B = 'mqtt://b:1883';
const C = 'mqtt://c:1883';

describe('BrokerFailover', () => {
  it('moves to the next URL on each failure, doubling the wait after every full round, capped', () => {
    const f = new BrokerFailover({ urls: [A, B, C], minMs: 100, maxMs: 1000, random: () => 0.999_999 });
    expect(f.current).toBe(A);
    const steps = Array.from({ length: 13 }, () => f.fail());
    expect(steps.map((s) => s.url)).toEqual([B, C, A, B, C, A, B, C, A, B, C, A, B]);
    expect(steps.map((s) => s.delayMs)).toEqual([100, 100, 100, 200, 200, 200, 400, 400, 400, 800, 800, 800, 1000]);
    expect(f.hasTriedAll).toBe(true);
  });

  it('jitter stays between half and all of the ceiling', () => {
    const low = new BrokerFailover({ urls: [A], minMs: 400, maxMs: 400, random: () => 0 });
    expect(low.fail().delayMs).toBe(200);
  });

  it('a connect resets the back-off but a later loss still tries the next URL first', () => {
    const f = new BrokerFailover({ urls: [A, B], minMs: 100, maxMs: 10_000, random: () => 0.999_999 });
    for (let i = 0; i < 5; i++) f.fail();
    expect(f.current).toBe(B);
    f.connected();
    expect(f.failures).toBe(0);
    expect(f.fail()).toEqual({ url: A, delayMs: 100 });
  });

  it('needs at least one URL', () => {
    expect(() => new BrokerFailover({ urls: [], minMs: 1, maxMs: 1 })).toThrow(/at least one URL/);
  });
});

describe('mqtt.urls in the configs', () => {
  it('urls wins over url; the single url form stays valid', () => {
    expect(brokerUrls({ url: A })).toEqual([A]);
    expect(brokerUrls({ url: A, urls: [B, C] })).toEqual([B, C]);
    expect(redactBrokerUrl('mqtt://user:secret@h:1883')).toBe('mqtt://h:1883');
  });

  it('agent config: url or urls, each a broker URL', () => {
    const base = { version: 1, agentId: 'a1', site: 's1', customer: 'c1', devices: [] };
    expect(buildAgentConfig({ ...base, mqtt: { url: A } }).mqtt.url).toBe(A);
    expect(buildAgentConfig({ ...base, mqtt: { urls: [A, B] } }).mqtt.urls).toEqual([A, B]);
    expect(() => buildAgentConfig({ ...base, mqtt: {} })).toThrow(/mqtt\.url: expected `url` or `urls`/);
    expect(() => buildAgentConfig({ ...base, mqtt: { urls: ['http://x'] } })).toThrow(
      /mqtt\.urls\[0\]: expected an mqtt/,
    );
  });

  it('hub config: external mode needs url or urls; node id from config or host name', () => {
    const base = { version: 1, api: { token: 'x'.repeat(16) } };
    const hub = buildConfig(HubConfig, { ...base, node: 'hub-a', mqtt: { mode: 'external', urls: [A, B] } });
    expect(hub.mqtt.urls).toEqual([A, B]);
    expect(hubNodeId(hub)).toBe('hub-a');
    expect(hubNodeId({}, 'my host!')).toBe('my-host-');
    expect(() => buildConfig(HubConfig, { ...base, mqtt: { mode: 'external' } })).toThrow(
      /mqtt\.url: expected `url` or `urls`/,
    );
  });
});
