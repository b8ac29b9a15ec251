/**
 * Peripherals as devices (issue 18), hub side: which device each peripheral with its own serial (an E70) is plugged
 * into, learnt from its health records (`identity.hostSerial`), kept in the hub's database (hub/peripherals/store.ts)
 * so the link survives restarts and a move to another host is seen. `GET /api/peripherals` lists them; `GET /api/peripherals/:serial` gives one.
 */
import { z } from 'zod';
import { ErrorCode } from '../../protocols/errors.ts';
import type { HubContext, HubModule } from '../context.ts';
import { followChanges, NO_CHANGE_FEED } from '../store/change-feed.ts';
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
  /** Another node's new link reaches `known` (issue 16): a moved peripheral is not linked again here. */
  const feed = ctx.services.changeFeed ?? NO_CHANGE_FEED;
  const learn = (link: { serial: string; hostSerial: string }) => {
    const prev = known.get(link.serial);
    known.set(link.serial, { host: link.hostSerial, touchedMs: prev?.host === link.hostSerial ? prev.touchedMs : 0 });
  };

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
      followChanges(feed, 'peripherals', writes, {
        one: async (serial) => {
          const link = await store.get(serial);
          if (link === undefined) known.delete(serial);
          else learn(link);
        },
        all: async () => {
          for (const link of await store.list()) learn(link);
        },
      });
      for (const r of await store.list()) learn(r);
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
          void writes.push(async () => {
            await store.link(serial, model, host, at);
            await feed.notify('peripherals', serial);
          });
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
