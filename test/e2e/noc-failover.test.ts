/**
 * Issue 16: the NOC page knows which hub node it streams from and moves to another node when its node dies.
 * Three real hub processes (`hezo hub --config`, separate data dirs, nodes `hub-a`, `hub-b`, `hub-c`, the same
 * read-only wall token) on loopback and the page in headless Chromium, loaded once from hub A with `?hubs=` naming
 * all three. The page says `node hub-a`; `kill -9` of hub A -> the page says `node hub-b`, moved from hub-a, with hub
 * B's own snapshot (a device and a ticket only hub B has), then follows hub B's live deltas. `SIGSTOP` of hub B (its
 * connections stay open, nothing answers) -> once the stream is silent the page leaves it for hub C.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubChild, spawnHub, writeJson } from '../chaos/harness.ts';
import { artifactPath, launchChromium } from '../helpers/chromium.ts';
import { freeTcpPort } from '../helpers/ports.ts';

const ADMIN_TOKEN = 'noc-failover-admin-token-0123456789';
const WALL_TOKEN = 'noc-failover-wall-token-0123456789';
const SHARED = ['X50-FO-0001', 'X30-FO-0002'];
const ONLY_B = 'X70-FO-0003';

let dir: string;
let browserHandle: Awaited<ReturnType<typeof launchChromium>> | undefined;
let page: Page;
type HubName = 'a' | 'b' | 'c';
const hubs: Record<HubName, { child?: HubChild; url: string; frozen?: boolean }> = {
  a: { url: '' },
  b: { url: '' },
  c: { url: '' },
};

async function startHub(name: HubName, serials: string[]): Promise<void> {
  const httpPort = await freeTcpPort();
  const mqttPort = await freeTcpPort();
  const config = {
    version: 1,
    node: `hub-${name}`,
    dataDir: join(dir, `hub-${name}`),
    logLevel: 'info',
    http: { host: '127.0.0.1', port: httpPort },
    mqtt: { host: '127.0.0.1', port: mqttPort },
    api: { token: ADMIN_TOKEN, readTokens: [WALL_TOKEN] },
    agents: [{ id: 'agent-fo', site: 'waw-fo', password: 'agent-fo-secret-1' }],
    customers: [{ id: 'cust-fo', name: 'Failover Customer' }],
    contracts: [{ number: 'C-FO', customer: 'cust-fo', start: '2026-01-01', termYears: 3, serials }],
    devices: serials.map((serial) => ({ serial, model: 'StudioX50', site: 'waw-fo', customer: 'cust-fo' })),
  };
  const file = join(dir, `hub-${name}.json`);
  writeJson(file, config);
  hubs[name] = { child: await spawnHub(file, join(dir, `hub-${name}.log`)), url: `http://127.0.0.1:${httpPort}` };
}

async function openTicket(hub: HubName, serial: string): Promise<string> {
  const res = await fetch(`${hubs[hub].url}/api/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      channel: 'phone',
      serial,
      contract: 'C-FO',
      priority: 'P2',
      reporter: 'NOC test',
      description: `reported to hub ${hub}`,
    }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const deviceSerials = () =>
  page.$$eval('[data-testid="device"]', (tiles) => tiles.map((t) => (t as HTMLElement).dataset.serial).sort());

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hezo-noc-failover-'));
  await Promise.all([startHub('a', SHARED), startHub('b', [...SHARED, ONLY_B]), startHub('c', SHARED)]);
  browserHandle = await launchChromium();
  page = await browserHandle.browser.newPage({ viewport: { width: 1920, height: 1080 } });
});

afterAll(async () => {
  await browserHandle?.close();
  for (const hub of Object.values(hubs)) {
    if (hub.frozen === true && hub.child !== undefined) process.kill(hub.child.pid, 'SIGCONT');
    await hub.child?.stop();
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('NOC page over two hub nodes', () => {
  it('shows node hub-a, then after kill -9 of hub A moves to hub-b with a fresh snapshot and live deltas', async () => {
    // The wall's URL, loaded once from hub A: `/` keeps `hubs` when it moves the token out of the address bar.
    const list = [hubs.a.url, hubs.b.url, hubs.c.url].join(',');
    await page.goto(`${hubs.a.url}/?token=${WALL_TOKEN}&hubs=${encodeURIComponent(list)}`);
    await page.waitForSelector('body[data-stream="live"] [data-testid="hub-node"][data-node="hub-a"]', {
      timeout: 15_000,
    });
    expect(new URL(page.url()).searchParams.get('token')).toBeNull();
    expect(await page.locator('[data-testid="hub-node"]').textContent()).toBe('node hub-a');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="device"]').length === n, SHARED.length);
    expect(await deviceSerials()).toEqual([...SHARED].sort());
    // hub B's state differs from hub A's (separate stores): a ticket only hub B has
    const ticketOnB = await openTicket('b', SHARED[0] as string);
    expect(await page.locator(`[data-ticket-id="${ticketOnB}"]`).count()).toBe(0);

    const killedAt = Date.now();
    await hubs.a.child?.kill9();
    hubs.a.child = undefined;
    await page.waitForSelector('body[data-stream="live"] [data-testid="hub-node"][data-node="hub-b"]', {
      timeout: 15_000,
    });
    const movedMs = Date.now() - killedAt;
    const label = page.locator('[data-testid="hub-node"]');
    expect(await label.getAttribute('data-moved-from')).toBe('hub-a');
    expect(await label.getAttribute('data-hub')).toBe(hubs.b.url);
    expect(await label.textContent()).toMatch(/^node hub-b · moved from hub-a \d\d:\d\d:\d\d$/);
    // hub B's own snapshot replaced the page's state: its extra device and its ticket
    await page.waitForSelector(`[data-testid="ticket"][data-ticket-id="${ticketOnB}"]`, { timeout: 5000 });
    expect(await deviceSerials()).toEqual([...SHARED, ONLY_B].sort());
    await page.screenshot({ path: artifactPath('noc-failover-hub-b.png') });

    // and it follows hub B's live stream: a ticket opened there now arrives as a delta
    const later = await openTicket('b', ONLY_B);
    await page.waitForSelector(`[data-testid="ticket"][data-ticket-id="${later}"]`, { timeout: 5000 });
    process.stdout.write(`noc-failover: page on hub-b ${movedMs} ms after kill -9 of hub-a\n`);
  });

  it('leaves a frozen node (SIGSTOP: its connections stay open, nothing answers) once its stream falls silent', async () => {
    // hub B frozen: no close, no RST, no pong; hub C is the next of the list
    const frozenAt = Date.now();
    process.kill(hubs.b.child?.pid as number, 'SIGSTOP');
    hubs.b.frozen = true;
    await page.waitForSelector('body[data-stream="live"] [data-testid="hub-node"][data-node="hub-c"]', {
      timeout: 40_000,
    });
    const movedMs = Date.now() - frozenAt;
    expect(await page.locator('[data-testid="hub-node"]').getAttribute('data-moved-from')).toBe('hub-b');
    // hub C's snapshot: its two devices, not hub B's third one nor hub B's tickets
    expect(await deviceSerials()).toEqual([...SHARED].sort());
    expect(await page.locator('[data-testid="ticket"]').count()).toBe(0);
    process.stdout.write(`noc-failover: page on hub-c ${movedMs} ms after SIGSTOP of hub-b\n`);
  });

  it('ignores ?hubs= entries that are not http(s) origins a browser could stream from', async () => {
    const parsed = await page.evaluate(
      (href) => window.HezoNocHubs.hubsFrom(href),
      'http://127.0.0.1:1/noc/?hubs=javascript:alert(1), http://u:p@h2:8080 ,http://h3:8080/x,,http://h3:8080,ftp://h4',
    );
    expect(parsed).toEqual({
      hubs: ['http://127.0.0.1:1', 'http://h3:8080'],
      rejected: ['javascript:alert(1)', 'http://u:p@h2:8080', 'ftp://h4'],
    });
    const onHttps = await page.evaluate(
      (href) => window.HezoNocHubs.hubsFrom(href),
      'https://wall.example/noc/?hubs=http://h2:8080,https://h3',
    );
    expect(onHttps).toEqual({ hubs: ['https://wall.example', 'https://h3'], rejected: ['http://h2:8080'] });
    // every hub of a round after the same delay, doubling per round from 0.5 s up to 15 s (jitter pinned to 1.0)
    const delays = await page.evaluate(() =>
      [0, 1, 2, 3, 4, 40].map((failures) => window.HezoNocHubs.retryDelayMs(failures, 2, () => 0.5)),
    );
    expect(delays).toEqual([500, 500, 1000, 1000, 2000, 15_000]);
    // with several hubs a silent node is left after 15 s (one hub: 45 s, as before)
    const timings = await page.evaluate(() => [1, 2].map((n) => window.HezoNocHubs.timing(n).silenceLimitMs));
    expect(timings).toEqual([45_000, 15_000]);
  });
});

declare global {
  interface Window {
    HezoNocHubs: {
      hubsFrom(href: string): { hubs: string[]; rejected: string[] };
      retryDelayMs(failures: number, count: number, random: () => number): number;
      timing(count: number): { keepaliveMs: number; silenceLimitMs: number; snapshotWaitMs: number };
    };
  }
}
