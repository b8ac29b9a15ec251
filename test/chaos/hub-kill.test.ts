/**
 * Chaos (a): `kill -9` the hub process (spawned through the CLI) at seeded random moments while a real agent
 * polls simulated devices and power-off faults come and go. After every restart: every ticket a client saw
 * exists with its full history (the seen entries unchanged), its SLA due time is identical, no device has two
 * open automatic tickets, and SQLite's `PRAGMA integrity_check` is ok. 3 rounds in `npm test`, 20 in
 * `npm run chaos`.
 */
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceView, TicketHistoryEntry, TicketView } from '../../hub/types.ts';
import { type HubChild, IS_LONG, recordChaosResult, rounds, seeded, spawnHub } from './harness.ts';
import { type ChaosWorld, startChaosWorld } from './world.ts';

type TicketDetail = TicketView & { history: TicketHistoryEntry[] };
const SEED = Number(process.env.HEZO_CHAOS_SEED ?? 1919);
const ROUNDS = rounds(3, 20);

let world: ChaosWorld | undefined;
let hub: HubChild | undefined;
afterEach(async () => {
  await hub?.stop();
  await world?.close();
  hub = undefined;
  world = undefined;
});

function checkDatabase(file: string): { integrity: string; duplicateAuto: number } {
  const db = new Database(file, { fileMustExist: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const dups = db
      .prepare(
        `SELECT serial FROM tickets WHERE channel = 'auto' AND is_open = 1 AND auto_key IS NOT NULL
         GROUP BY serial, auto_key HAVING COUNT(*) > 1`,
      )
      .all();
    return { integrity, duplicateAuto: dups.length };
  } finally {
    db.close();
  }
}

describe('chaos: kill -9 the hub', () => {
  it(`${ROUNDS} seeded kills (seed ${SEED}): tickets seen survive whole, SLA due times identical, integrity ok`, async () => {
    const w = await startChaosWorld({ devices: IS_LONG ? 16 : 6, seed: SEED });
    world = w;
    const rng = seeded(SEED);
    const logFile = join(w.dir, 'hub.log');
    hub = await spawnHub(w.hubConfigFile, logFile);
    await w.startAgent();
    const seen = new Map<string, TicketDetail>();
    const failures: string[] = [];
    const down = new Set<string>();
    const injectedAt = new Map<string, number>();
    let worstDetectionMs = 0;
    let integrityFailures = 0;
    let duplicates = 0;
    let survived = 0;
    let peakRssMb = 0;

    const observe = async () => {
      const tickets = await w.api<TicketView[]>('/api/tickets?state=all');
      for (const t of tickets) seen.set(t.id, await w.api<TicketDetail>(`/api/tickets/${t.id}`));
      const devices = await w.api<DeviceView[]>('/api/devices');
      for (const d of devices) {
        const at = injectedAt.get(d.serial);
        if (at !== undefined && d.state === 'down') {
          worstDetectionMs = Math.max(worstDetectionMs, Date.now() - at);
          injectedAt.delete(d.serial);
        }
      }
    };

    for (let round = 0; round < ROUNDS; round++) {
      // A seeded fault change, then a seeded moment of life before the kill.
      const device = w.devices[Math.floor(rng() * w.devices.length)]!;
      if (down.has(device.serial)) {
        w.clearFaults(device.serial);
        down.delete(device.serial);
        injectedAt.delete(device.serial);
      } else {
        w.fault(device.serial, 'power-off');
        down.add(device.serial);
        injectedAt.set(device.serial, Date.now());
      }
      const until = Date.now() + 1500 + Math.floor(rng() * 3000);
      while (Date.now() < until) {
        await observe();
        await delay(150);
      }
      peakRssMb = Math.max(peakRssMb, hub.peakRssMb());
      await hub.kill9();
      const db = checkDatabase(join(w.hubDataDir, 'hezo.sqlite'));
      if (db.integrity !== 'ok') integrityFailures++;
      duplicates += db.duplicateAuto;
      hub = await spawnHub(w.hubConfigFile, logFile);
      let isWhole = db.integrity === 'ok' && db.duplicateAuto === 0;
      for (const [id, before] of seen) {
        const after = await w.api<TicketDetail>(`/api/tickets/${id}`).catch(() => undefined);
        if (after === undefined) {
          failures.push(`round ${round}: ticket ${id} seen before the kill is gone`);
          isWhole = false;
          continue;
        }
        const lost = before.history.filter(
          (h, i) => after.history[i]?.at !== h.at || after.history[i]?.note !== h.note || after.history[i]?.to !== h.to,
        );
        if (lost.length > 0) failures.push(`round ${round}: ticket ${id} lost ${lost.length} history entries`);
        if (after.sla.reactionDue !== before.sla.reactionDue) {
          failures.push(
            `round ${round}: ticket ${id} reactionDue ${before.sla.reactionDue} -> ${after.sla.reactionDue}`,
          );
        }
        if (lost.length > 0 || after.sla.reactionDue !== before.sla.reactionDue) isWhole = false;
      }
      if (isWhole) survived++;
    }
    // Every device that is dead now has exactly one open automatic P1 once the hub has looked again.
    const waitUntil = Date.now() + 30_000;
    let open: TicketView[] = [];
    while (Date.now() < waitUntil) {
      open = (await w.api<TicketView[]>('/api/tickets?state=open')).filter((t) => t.channel === 'auto');
      if ([...down].every((s) => open.some((t) => t.serial === s && t.priority === 'P1'))) break;
      await delay(200);
    }
    const perSerial = new Map<string, number>();
    for (const t of open) perSerial.set(t.serial, (perSerial.get(t.serial) ?? 0) + 1);
    duplicates += [...perSerial.values()].filter((n) => n > 1).length;
    recordChaosResult({
      kind: 'hub kill -9 (CLI child)',
      rounds: ROUNDS,
      survived,
      duplicates,
      integrityFailures,
      peakRssMb,
      worstDetectionMs,
      note: `${seen.size} tickets watched, ${w.devices.length} devices, seed ${SEED}`,
    });
    expect(failures).toEqual([]);
    expect(integrityFailures).toBe(0);
    expect(duplicates).toBe(0);
    expect([...down].filter((s) => !open.some((t) => t.serial === s && t.priority === 'P1'))).toEqual([]);
    expect(survived).toBe(ROUNDS);
  });
});
