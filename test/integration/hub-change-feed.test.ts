/**
 * Issue 16: the change feed (hub/store/change-feed*.ts). Two real hubs on one real PostgreSQL 15: what node A writes
 * reaches node B's in-memory views without a restart, over LISTEN/NOTIFY: an agent created through A's API connects
 * to B's embedded broker (real MQTT.js), a rotated one needs its new password there and a removed one is refused; a
 * device pending on A is pending on B, and once adopted or rejected on A it is no longer pending on B. When B's feed
 * connection is cut (pg_terminate_backend), B reconnects and reloads every view: a change whose notification never
 * reached it (written straight into the database, as one sent while it was away) is seen. Identity alerts raised on A
 * show on B; a peripheral linked on A is known to B (B does not link it again); a device watch raised or cleared on A
 * reaches B's live stream (bus `device-watch`); an automatic reboot on A counts on B (at most one per device and
 * interval: B does not reboot it again).
 */

import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../hub/broker/credentials.ts';
import { createIdentityModule } from '../../hub/identity/module.ts';
import { createPeripheralsModule } from '../../hub/peripherals/module.ts';
import { createRebootModule } from '../../hub/reboot/module.ts';
import { createRulesModule } from '../../hub/rules/module.ts';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub, type TestHub } from '../helpers/hub-fixture.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { nextBusEvent, waitFor } from '../helpers/wait-for.ts';

let postgres: Postgres;
let pg: PostgresStore;
let a: TestHub;
let b: TestHub;

beforeAll(async () => {
  postgres = await startPostgres();
  pg = new PostgresStore(postgres.url, { max: 1 });
  const start = (node: string) =>
    startTestHub({
      config: {
        node,
        database: { url: postgres.url },
        cluster: { partitions: 4, leaseMs: 2_000, renewMs: 400 },
        adoption: { unknownDevices: 'pending' },
        devices: [
          { serial: 'FEED-HOST', model: 'StudioX50', site: 'site-a', customer: 'acme' },
          { serial: 'FEED-HUNG', model: 'StudioX50', site: 'site-a', customer: 'acme' },
        ],
        remoteReboot: { policies: [{ customer: 'acme', allowedFrom: '00:00', allowedTo: '23:59' }], hungPolls: 3 },
        rules: { temperatureC: 60, temperaturePolls: 3 },
      },
      modules: [
        createIdentityModule,
        createPeripheralsModule,
        (ctx) => createRulesModule(ctx),
        (ctx) => createRebootModule(ctx),
      ],
    });
  a = await start('hub-a');
  b = await start('hub-b');
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await pg?.close();
  await postgres?.close();
});

const post = (hub: TestHub, path: string, body: unknown = {}) =>
  hub.api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Whether the broker of `hub` accepts `id`/`password` (a real MQTT.js connect). */
async function accepts(hub: TestHub, id: string, password: string): Promise<boolean> {
  const client = await mqtt
    .connectAsync(hub.urls.mqttUrl, {
      protocolVersion: 4,
      clientId: `${id}-${Math.random().toString(16).slice(2, 8)}`,
      username: id,
      password,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    })
    .catch(() => undefined);
  if (client === undefined) return false;
  await client.endAsync();
  return true;
}

const pendingSerials = async (hub: TestHub): Promise<string[]> =>
  ((await (await hub.api('/api/devices/pending')).json()) as { serial: string }[]).map((d) => d.serial);

describe('the change feed between two hub nodes on one PostgreSQL', () => {
  it('an agent created, rotated or removed through node A is accepted or refused by node B at once', async () => {
    expect(await accepts(b, 'agent-feed', 'nothing-yet')).toBe(false);
    const created = await post(a, '/api/agents', { id: 'agent-feed', site: 'site-a' });
    expect(created.status).toBe(201);
    const { password } = (await created.json()) as { password: string };
    await waitFor(() => accepts(b, 'agent-feed', password), { what: 'node B accepting the agent made on A' });
    expect(await b.metric('hezo_store_feed_notifications_total', { store: 'agents' })).toBeGreaterThanOrEqual(1);
    expect(await a.metric('hezo_store_feed_notifications_total', { store: 'agents' })).toBe(0); // its own: ignored

    const rotated = await post(a, '/api/agents/agent-feed/rotate');
    expect(rotated.status).toBe(200);
    const { password: next } = (await rotated.json()) as { password: string };
    await waitFor(() => accepts(b, 'agent-feed', next), { what: 'node B accepting the rotated password' });
    expect(await accepts(b, 'agent-feed', password)).toBe(false);

    expect((await a.api('/api/agents/agent-feed', { method: 'DELETE' })).status).toBe(204);
    await waitFor(async () => !(await accepts(b, 'agent-feed', next)), { what: 'node B refusing the removed agent' });
    expect(await accepts(a, 'agent-feed', next)).toBe(false);
  });

  it('a device pending on node A is pending on node B; adopted or rejected on A, it is no longer pending on B', async () => {
    const agent = await connectAgent(a.urls.mqttUrl, {
      agentId: 'agent-1',
      site: 'site-a',
      password: 'agent-1-secret',
    });
    try {
      for (const serial of ['FEED-ADOPT', 'FEED-REJECT']) {
        await agent.send('health', makeHealthRecord({ agentId: 'agent-1', site: 'site-a', serial }));
      }
    } finally {
      await agent.close();
    }
    await waitFor(async () => (await pendingSerials(b)).includes('FEED-REJECT'), { what: 'pending on node B' });
    expect(await pendingSerials(b)).toEqual(['FEED-ADOPT', 'FEED-REJECT']);

    expect((await post(a, '/api/devices/pending/FEED-ADOPT/adopt', { customer: 'acme' })).status).toBe(201);
    await waitFor(async () => !(await pendingSerials(b)).includes('FEED-ADOPT'), { what: 'adopted: gone on B' });
    expect((await post(b, '/api/devices/pending/FEED-ADOPT/adopt', { customer: 'acme' })).status).toBe(404);

    expect((await post(a, '/api/devices/pending/FEED-REJECT/reject')).status).toBe(200);
    await waitFor(async () => (await pendingSerials(b)).length === 0, { what: 'rejected: gone on B' });
    expect((await post(b, '/api/devices/pending/FEED-REJECT/reject')).status).toBe(404);
  });

  it("after node B's feed connection is cut and comes back, a change it was never told of is seen (full reload)", async () => {
    const feedOf = async (node: string) =>
      pg.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1 || '#%'", [
        `hezo-feed-${node}`,
      ]);
    const [feedB] = await feedOf('hub-b');
    expect(feedB).toBeDefined();
    expect(await b.metric('hezo_store_feed_reconnects_total')).toBe(0);
    await pg.query('SELECT pg_terminate_backend($1)', [feedB?.pid ?? 0]);

    // written straight into the database: no notification at all, as one sent while B's feed was away
    const at = new Date().toISOString();
    await pg.run('INSERT INTO agents (id, site, password_hash, created_at, rotated_at) VALUES ($1, $2, $3, $4, $4)', [
      'agent-missed',
      'site-a',
      hashPassword('missed-secret-0123'),
      at,
    ]);
    await waitFor(async () => (await b.metric('hezo_store_feed_reconnects_total')) === 1, {
      what: "node B's feed reconnected",
    });
    await waitFor(() => accepts(b, 'agent-missed', 'missed-secret-0123'), { what: 'node B reloaded the agents' });
    const [again] = await feedOf('hub-b');
    expect(again?.pid).not.toBe(feedB?.pid);
    // node A was never told and its feed never reconnected: only a full reload brings such a change in
    expect(await accepts(a, 'agent-missed', 'missed-secret-0123')).toBe(false);

    // and the feed works again after the reconnect
    const created = await post(a, '/api/agents', { id: 'agent-after', site: 'site-a' });
    const { password } = (await created.json()) as { password: string };
    await waitFor(() => accepts(b, 'agent-after', password), { what: 'node B following node A again' });
  });

  it('an identity alert raised on node A shows on node B', async () => {
    a.hub.ctx.bus.emit('ingest:event', {
      message: {
        v: 1,
        agentId: 'agent-1',
        serial: 'FEED-HOST',
        at: new Date().toISOString(),
        replayed: false,
        type: 'certificate-changed',
        detail: 'REST certificate changed without a reboot: refused (was aa, now bb)',
      },
      site: 'site-a',
      agentId: 'agent-1',
      clientId: 'agent-1-test',
      receivedAtMs: Date.now(),
    });
    expect(b.hub.ctx.services.identityAlerts?.forSerial('FEED-HOST')).toEqual([]);
    await waitFor(() => (b.hub.ctx.services.identityAlerts?.forSerial('FEED-HOST') ?? []).length === 1, {
      what: "the alert in node B's device view",
    });
    expect(b.hub.ctx.services.identityAlerts?.forSerial('FEED-HOST')[0]).toMatchObject({
      channel: 'rest',
      fingerprint: 'bb',
      status: 'refused',
    });
  });

  it('a peripheral linked on node A is known to node B: the same host seen on B is no new link', async () => {
    const seen = (at: string) => ({
      record: makeHealthRecord(
        { serial: 'FEED-CAM', model: 'StudioE70', at: Date.parse(at) },
        { identity: { serial: 'FEED-CAM', model: 'StudioE70', firmware: '1.0', hostSerial: 'FEED-HOST' } },
      ),
      receivedAt: at,
    });
    const t1 = '2026-11-30T07:00:00.000Z';
    const reloadsBefore = await b.metric('hezo_store_feed_reloads_total', { store: 'peripherals' });
    a.hub.ctx.bus.emit('health', seen(t1));
    const linked = () =>
      pg.query<{ since: string; last_seen: string }>(
        "SELECT since, last_seen FROM peripheral_links WHERE serial = 'FEED-CAM'",
      );
    await waitFor(async () => (await linked()).length === 1, { what: 'the link written by node A' });
    await waitFor(
      async () => (await b.metric('hezo_store_feed_reloads_total', { store: 'peripherals' })) > reloadsBefore,
      {
        what: 'node B reloaded the link',
      },
    );
    b.hub.ctx.bus.emit('health', seen('2026-11-30T07:00:30.000Z'));
    await waitFor(async () => (await linked())[0]?.last_seen === '2026-11-30T07:00:30.000Z', {
      what: 'node B touching the link',
    });
    expect((await linked())[0]?.since).toBe(t1); // not linked again (it would say since 07:00:30)
  });

  it("a device watch raised and cleared on node A reaches node B's live stream", async () => {
    let seq = 100;
    const hot = (temperatureC: number) => ({
      record: makeHealthRecord(
        { serial: 'FEED-HOST', seq: seq++, at: Date.now() },
        { identity: { serial: 'FEED-HOST', model: 'StudioX50', firmware: '4.2.0' }, temperatureC },
      ),
      receivedAt: new Date().toISOString(),
    });
    const raisedOnB = nextBusEvent(b.hub.ctx.bus, 'device-watch', (w) => w.serial === 'FEED-HOST', 10_000);
    for (let i = 0; i < 3; i++) a.hub.ctx.bus.emit('health', hot(61));
    expect(await raisedOnB).toMatchObject({ serial: 'FEED-HOST', rule: 'temperature-high', state: 'active' });
    const clearedOnB = nextBusEvent(b.hub.ctx.bus, 'device-watch', (w) => w.serial === 'FEED-HOST', 10_000);
    a.hub.ctx.bus.emit('health', hot(50));
    expect(await clearedOnB).toMatchObject({ serial: 'FEED-HOST', rule: 'temperature-high', state: 'cleared' });
  });

  it('an automatic reboot decided on node A counts on node B: B does not reboot the device again', async () => {
    let seq = 200;
    const hung = () => ({
      record: makeHealthRecord(
        { serial: 'FEED-HUNG', seq: seq++, at: Date.now() },
        {
          reachability: {
            rest: { ok: false, attempts: 3, error: { kind: 'timeout', message: 'no answer in 3000 ms' } },
            snmp: { ok: true, attempts: 1, latencyMs: 5 },
          },
        },
      ),
      receivedAt: new Date().toISOString(),
    });
    const autoReboots = async () =>
      (
        await pg.query<{ serial: string }>(
          "SELECT serial FROM device_reboots WHERE serial = 'FEED-HUNG' AND trigger = 'auto'",
        )
      ).length;
    const reloaded = () => b.metric('hezo_store_feed_reloads_total', { store: 'reboots' });
    const before = await reloaded();
    for (let i = 0; i < 3; i++) a.hub.ctx.bus.emit('health', hung());
    await waitFor(async () => (await autoReboots()) === 1, { what: 'the automatic reboot of node A recorded' });
    await waitFor(async () => (await reloaded()) > before, { what: 'node B told of it' });

    for (let i = 0; i < 3; i++) b.hub.ctx.bus.emit('health', hung()); // B decides now (a reboot would be queued)
    // a change announced now is reloaded on B after whatever B queued above
    const after = await reloaded();
    await a.hub.ctx.services.changeFeed?.notify('reboots', 'FEED-OTHER');
    await waitFor(async () => (await reloaded()) > after, { what: "node B's queue past its decision" });
    expect(await autoReboots()).toBe(1);
  });
});
