/**
 * Peripherals as devices (issue 18), hub side: which device each peripheral with its own serial (an E70) is plugged
 * into, learnt from its health records (`identity.hostSerial`), kept in the hub's database (hub/peripherals/store.ts)
 * so the link survives restarts and a move to another host is seen. `GET /api/peripherals` lists them; `GET /api/peripherals/:serial` gives one.
 */
import { z } from 'zod';
import { ErrorCode } from '../../protocols/errors.ts';
import type { HubContext, HubModule } from '../context.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import { parseBody } from '../tickets/routes.ts';
import { PeripheralStore } from './store.ts';

export type { PeripheralLink } from './store.ts';

const Query = z.strictObject({ host: z.string().max(64).optional() });
/** The link's last-seen time is written at most this often per peripheral. */
const TOUCH_MS = 60_000;

export function createPeripheralsModule(ctx: HubContext): HubModule {
  const logger = ctx.logger.child({ component: 'peripherals' });
  const store = new PeripheralStore(ctx.sql);
  /**
   * serial -> its host and when its row was last written: the in-memory view the synchronous `health` listener
   * decides on (loaded at start, updated at once); the writes it causes run in order through `writes`.
   */
  const known = new Map<string, { host: string; touchedMs: number }>();
  const writes = new SerialQueue((err) => logger.error({ err }, 'peripheral link not stored'));

  ctx.http.get('/api/peripherals', { config: { access: 'internal' } }, async (req, reply) => {
    let q: z.infer<typeof Query>;
    try {
      q = parseBody(Query, req.query, 'query');
    } catch (err) {
      return reply.code(400).send({ error: (err as Error).message, code: ErrorCode.PAYLOAD_INVALID });
    }
    return reply.send(await store.list({ host: q.host }));
  });
  ctx.http.get<{ Params: { serial: string } }>(
    '/api/peripherals/:serial',
    { config: { access: 'internal' } },
    async (req, reply) => {
      const found = await store.get(req.params.serial);
      return found
        ? reply.send(found)
        : reply.code(404).send({ error: `serial: no peripheral "${req.params.serial}"`, code: ErrorCode.NOT_FOUND });
    },
  );

  let off: (() => void) | undefined;
  return {
    name: 'peripherals',
    async start() {
      await store.migrate();
      for (const r of await store.list()) known.set(r.serial, { host: r.hostSerial, touchedMs: 0 });
      off = ctx.bus.on('health', ({ record }) => {
        const host = record.identity.hostSerial;
        if (host === undefined || record.replayed) return;
        const serial = record.identity.serial;
        const nowMs = ctx.clock.now();
        const prev = known.get(serial);
        if (prev !== undefined && prev.host === host && nowMs - prev.touchedMs < TOUCH_MS) return;
        const at = record.observedAt;
        const model = record.identity.model;
        if (prev === undefined || prev.host !== host) {
          void writes.push(() => store.link(serial, model, host, at));
          logger.info({ serial, host, previousHost: prev?.host }, 'peripheral linked to its host');
        } else {
          void writes.push(() => store.touch(serial, at));
        }
        known.set(serial, { host, touchedMs: nowMs });
      });
    },
    async stop() {
      off?.();
      await writes.idle();
    },
  };
}
