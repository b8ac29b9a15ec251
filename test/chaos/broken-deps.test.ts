/**
 * Chaos (g): every dependency behind the hub is broken at once - the InfluxDB URL answers 500, the webhook
 * target accepts connections and never answers, the SMTP server refuses connections - while devices die.
 * Detection and tickets must not wait for any of them: each dead device is `down` with its P1 as fast as with
 * healthy dependencies (one poll round plus the threshold), InfluxDB's queue stays bounded with its drops
 * counted, failed notifications are counted, and the hub stays up.
 */
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HubConfig } from '../../hub/config.ts';
import { createHub, type Hub } from '../../hub/hub.ts';
import { buildConfig } from '../../protocols/config-common.ts';
import { sumMetric } from '../helpers/hub-fixture.ts';
import { freeTcpPort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { recordChaosResult, rounds } from './harness.ts';
import { type ChaosWorld, startChaosWorld } from './world.ts';

const ROUNDS = rounds(1, 3);
const cleanups: Array<() => Promise<void> | void> = [];
let world: ChaosWorld | undefined;
let hub: Hub | undefined;
afterEach(async () => {
  await hub?.stop();
  await world?.close();
  for (const fn of cleanups.splice(0).reverse()) await fn();
  hub = undefined;
  world = undefined;
});

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

describe('chaos: broken InfluxDB, webhook and SMTP', () => {
  it(`${ROUNDS} round(s): detection and tickets never wait for a broken dependency`, async () => {
    const influx = http.createServer((_req, res) => {
      res.statusCode = 500;
      res.end('{"error":"chaos"}');
    });
    const influxPort = await listen(influx);
    cleanups.push(() => new Promise<void>((resolve) => influx.close(() => resolve())));
    const sockets = new Set<net.Socket>();
    const blackHole = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    const webhookPort = await listen(blackHole);
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => blackHole.close(() => resolve()));
    });
    const smtpPort = await freeTcpPort(); // nothing listens: connection refused
    const w = await startChaosWorld({ devices: 4, seed: 61 });
    world = w;
    const config = buildConfig(HubConfig, {
      ...w.hubConfig,
      logLevel: 'silent',
      influx: { url: `http://127.0.0.1:${influxPort}`, maxQueue: 100, flushIntervalMs: 100, retryMaxMs: 500 },
      notifications: {
        webhooks: [{ url: `http://127.0.0.1:${webhookPort}/hook`, secret: 'chaos-webhook-secret-0123' }],
        smtp: { host: '127.0.0.1', port: smtpPort, from: 'hub@example.com', to: ['desk@example.com'] },
        maxAttempts: 3,
        retryBaseMs: 50,
      },
    }) as HubConfig;
    hub = createHub(config, { logger: pino({ level: 'silent' }) });
    const opened = new Map<string, number>();
    hub.ctx.bus.on('ticket', (e) => {
      if (e.change === 'opened') opened.set(e.ticket.serial, Date.now());
    });
    await hub.start();
    const devices = hub.ctx.services.devices!;
    await w.startAgent();
    await waitFor(() => w.devices.every((d) => devices.get(d.serial)?.state === 'up'), {
      timeoutMs: 30_000,
      what: 'all up',
    });
    let worstMs = 0;
    let survived = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const dead = w.devices[round % w.devices.length]!.serial;
      const killedAt = Date.now();
      w.fault(dead, 'power-off');
      await waitFor(() => (opened.get(dead) ?? 0) >= killedAt, { timeoutMs: 30_000, what: `P1 for ${dead}` });
      worstMs = Math.max(worstMs, opened.get(dead)! - killedAt);
      w.clearFaults(dead);
      survived++;
    }
    // The queue stays bounded (drops counted) and the failed deliveries are counted, while detection went on.
    const h = hub;
    await waitFor(async () => sumMetric(await h.ctx.metrics.metrics(), 'hezo_influx_points_dropped_total') > 0, {
      timeoutMs: 60_000,
      what: 'InfluxDB drops counted',
    });
    await waitFor(
      async () => sumMetric(await h.ctx.metrics.metrics(), 'hezo_notifications_total', { channel: 'email' }) > 0,
      { timeoutMs: 30_000, what: 'failed e-mail attempts counted' },
    );
    const metrics = await hub.ctx.metrics.metrics();
    const influxQueue = sumMetric(metrics, 'hezo_influx_queue_points');
    const influxDropped = sumMetric(metrics, 'hezo_influx_points_dropped_total');
    const notifyFailed =
      sumMetric(metrics, 'hezo_notifications_total') - sumMetric(metrics, 'hezo_notifications_total', { result: 'ok' });
    recordChaosResult({
      kind: 'InfluxDB 500 + webhook hang + SMTP refused',
      rounds: ROUNDS,
      survived,
      worstDetectionMs: worstMs,
      note: `influx queue ${influxQueue}/100, ${influxDropped} points dropped (counted); ${notifyFailed} failed notification attempts counted`,
    });
    expect(influxQueue).toBeLessThanOrEqual(100);
    expect(sumMetric(metrics, 'hezo_notifications_total', { result: 'ok' })).toBe(0);
    expect(survived).toBe(ROUNDS);
  });
});
