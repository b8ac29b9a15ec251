/**
 * Peripherals as devices (issue 18), hub side: which device each peripheral with its own serial (an E70) is plugged
 * into, learnt from its health records (`identity.hostSerial`), kept in SQLite so the link survives restarts and a
 * move to another host is seen. `GET /api/peripherals` lists them; `GET /api/peripherals/:serial` gives one.
 */
import { z } from 'zod';
import { ErrorCode } from '../../protocols/errors.ts';
import type { HubContext, HubModule } from '../context.ts';
import { migrate } from '../db.ts';
import { parseBody } from '../tickets/routes.ts';

export interface PeripheralLink {
  serial: string;
  model: string;
  hostSerial: string;
  since: string;
  lastSeen: string;
}

const MIGRATIONS = [
  `CREATE TABLE peripheral_links (
     serial TEXT PRIMARY KEY, model TEXT NOT NULL, host_serial TEXT NOT NULL, since TEXT NOT NULL, last_seen TEXT NOT NULL)`,
];
const Query = z.strictObject({ host: z.string().max(64).optional() });
/** The link's last-seen time is written at most this often per peripheral. */
const TOUCH_MS = 60_000;

export function createPeripheralsModule(ctx: HubContext): HubModule {
  migrate(ctx.db, 'peripherals', MIGRATIONS);
  const logger = ctx.logger.child({ component: 'peripherals' });
  const known = new Map<string, { host: string; touchedMs: number }>();
  const rows = () =>
    ctx.db
      .prepare(
        'SELECT serial, model, host_serial AS hostSerial, since, last_seen AS lastSeen FROM peripheral_links ORDER BY serial',
      )
      .all() as PeripheralLink[];
  for (const r of rows()) known.set(r.serial, { host: r.hostSerial, touchedMs: 0 });

  ctx.http.get('/api/peripherals', { config: { access: 'internal' } }, (req, reply) => {
    try {
      const q = parseBody(Query, req.query, 'query');
      return reply.send(rows().filter((r) => q.host === undefined || r.hostSerial === q.host));
    } catch (err) {
      return reply.code(400).send({ error: (err as Error).message, code: ErrorCode.PAYLOAD_INVALID });
    }
  });
  ctx.http.get<{ Params: { serial: string } }>(
    '/api/peripherals/:serial',
    { config: { access: 'internal' } },
    (req, reply) => {
      const found = rows().find((r) => r.serial === req.params.serial);
      return found
        ? reply.send(found)
        : reply.code(404).send({ error: `serial: no peripheral "${req.params.serial}"`, code: ErrorCode.NOT_FOUND });
    },
  );

  let off: (() => void) | undefined;
  return {
    name: 'peripherals',
    start() {
      off = ctx.bus.on('health', ({ record }) => {
        const host = record.identity.hostSerial;
        if (host === undefined || record.replayed) return;
        const serial = record.identity.serial;
        const nowMs = ctx.clock.now();
        const prev = known.get(serial);
        if (prev !== undefined && prev.host === host && nowMs - prev.touchedMs < TOUCH_MS) return;
        const at = record.observedAt;
        if (prev === undefined || prev.host !== host) {
          ctx.db
            .prepare(
              `INSERT INTO peripheral_links (serial, model, host_serial, since, last_seen) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT(serial) DO UPDATE SET model = excluded.model, host_serial = excluded.host_serial,
                 since = excluded.since, last_seen = excluded.last_seen`,
            )
            .run(serial, record.identity.model, host, at, at);
          logger.info({ serial, host, previousHost: prev?.host }, 'peripheral linked to its host');
        } else {
          ctx.db.prepare('UPDATE peripheral_links SET last_seen = ? WHERE serial = ?').run(at, serial);
        }
        known.set(serial, { host, touchedMs: nowMs });
      });
      return Promise.resolve();
    },
    stop() {
      off?.();
      return Promise.resolve();
    },
  };
}
