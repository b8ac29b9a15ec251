/**
 * Drift and early-warning rules (issue 18) over each device's health records as they are stored (bus `health`,
 * live and replayed, in record time): configuration rules open a P3 automatic ticket (one per device and rule,
 * the rule and its data in the ticket), trend rules raise a watch on the device (SQLite, `GET /api/watches`,
 * bus `device-watch` for the NOC page), and a P3 as well for customers whose policy asks for it
 * (`rules.watchTicketCustomers`). Thresholds: hub config `rules` (hub/rules/rules-config.ts).
 */
import { z } from 'zod';
import { ErrorCode, isAppError } from '../../protocols/errors.ts';
import { dutiesOf } from '../cluster/partition-duties.ts';
import type { HubContext, HubModule } from '../context.ts';
import { followChanges, NO_CHANGE_FEED } from '../store/change-feed.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import { parseBody } from '../tickets/routes.ts';
import { DeviceRules, type Verdict, type VerdictFilter } from './device-rules.ts';
import type { RulesConfig } from './rules-config.ts';
import { type DeviceWatch, WatchStore } from './watch-store.ts';

const WatchQuery = z.strictObject({
  state: z.enum(['active', 'all']).default('active'),
  serial: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(500),
});

export interface RulesModule extends HubModule {
  readonly watches: WatchStore;
}

export function createRulesModule(ctx: HubContext, cfgOverride?: Readonly<RulesConfig>): RulesModule {
  const cfg = cfgOverride ?? ctx.config.rules;
  const logger = ctx.logger.child({ component: 'rules' });
  const duties = dutiesOf(ctx); // issue 16: rules (P3 tickets, watches) run at the holder of the device's site
  const watches = new WatchStore(ctx.sql);
  /** Per device: its rules and its verdict filter (made once: a closure per record costs more than it saves). */
  const devices = new Map<string, { rules: DeviceRules; wants: VerdictFilter }>();
  /**
   * serial -> rules firing now (config and trend). The in-memory view the synchronous `health` listener decides on:
   * loaded from the active watches at start, updated at once on every verdict; the watch writes it causes run in
   * order through `writes` (the store is async), and stop waits for them.
   */
  const firing = new Map<string, Set<string>>();
  const writes = new SerialQueue((err) => logger.error({ err }, 'device watch not stored'));
  const watchTickets = new Set(cfg.watchTicketCustomers);
  /** Rules known to be trend rules (stored watches): a reload replaces only those in `firing`, never config ones. */
  const trendRules = new Set<string>();
  const feed = ctx.services.changeFeed ?? NO_CHANGE_FEED;

  /** Another node raised or cleared a watch of `serial` (issue 16): `firing` follows, and the NOC hears of it. */
  const reloadWatches = async (serial: string | undefined) => {
    const active =
      serial === undefined ? await watches.active() : await watches.list({ state: 'active', serial }, 10_000);
    const bySerial = new Map<string, Set<string>>();
    for (const w of active) {
      if (serial !== undefined && w.serial !== serial) continue;
      trendRules.add(w.rule);
      bySerial.set(w.serial, (bySerial.get(w.serial) ?? new Set()).add(w.rule));
    }
    const serials = serial !== undefined ? [serial] : [...new Set([...firing.keys(), ...bySerial.keys()])];
    for (const s of serials) {
      const now = firing.get(s) ?? new Set<string>();
      const stored = bySerial.get(s) ?? new Set<string>();
      const changed = [...now].filter((r) => trendRules.has(r) && !stored.has(r));
      changed.push(...[...stored].filter((r) => !now.has(r)));
      for (const rule of changed) {
        if (stored.has(rule)) now.add(rule);
        else now.delete(rule);
        await emitWatch(s, rule);
      }
      if (now.size > 0) firing.set(s, now);
      else firing.delete(s);
    }
  };

  const openP3 = (serial: string, v: Verdict, at: string, customer: string | undefined) => {
    const service = ctx.services.ticketService;
    if (!service) return;
    // not awaited: the ticket service stores and announces a device's automatic tickets in call order
    service
      .openAuto({
        serial,
        state: 'config',
        autoKey: `rule:${v.rule}`,
        reason: v.rule,
        evidence: [`rule ${v.rule} fired: ${v.detail}`, `data: ${JSON.stringify(v.data).slice(0, 2000)}`],
        at,
        ...(customer ? { customer } : {}),
      })
      .catch((err: unknown) => logger.error({ err, serial, rule: v.rule }, 'rule ticket not opened'));
  };

  /** A verdict changes something only when the rule starts or stops firing, or a trend keeps firing. */
  const isActedOn = (serial: string, rule: string, kind: Verdict['kind'], isFiring: boolean): boolean => {
    const was = firing.get(serial)?.has(rule) === true;
    return isFiring !== was || (isFiring && kind === 'trend');
  };

  const onVerdict = (serial: string, customer: string, v: Verdict, at: string) => {
    // Every record yields a verdict per rule: a device with nothing firing allocates nothing here.
    if (!isActedOn(serial, v.rule, v.kind, v.isFiring)) return;
    const now = firing.get(serial) ?? new Set<string>();
    if (v.kind === 'trend') trendRules.add(v.rule);
    if (v.isFiring) {
      now.add(v.rule);
      firing.set(serial, now);
      if (v.kind === 'config') {
        logger.warn({ serial, rule: v.rule, detail: v.detail }, 'configuration rule fired');
        openP3(serial, v, at, customer);
        return;
      }
      void writes.push(async () => {
        if (await watches.raise(serial, v.rule, v.detail, v.data, at)) {
          logger.warn({ serial, rule: v.rule, detail: v.detail }, 'device watch raised');
          await feed.notify('watches', serial);
          await emitWatch(serial, v.rule);
          if (watchTickets.has(customer)) openP3(serial, v, at, customer);
        }
      });
      return;
    }
    now.delete(v.rule);
    if (v.kind !== 'trend') return;
    void writes.push(async () => {
      if (await watches.clear(serial, v.rule, v.detail, at)) {
        logger.info({ serial, rule: v.rule }, 'device watch cleared');
        await feed.notify('watches', serial);
        await emitWatch(serial, v.rule);
      }
    });
  };

  const emitWatch = async (serial: string, rule: string) => {
    const [watch] = (await watches.list({ state: 'all', serial }, 50)).filter((w) => w.rule === rule);
    if (watch) ctx.bus.emit('device-watch', watch);
  };

  ctx.http.get('/api/watches', { config: { access: 'read' } }, async (req, reply) => {
    try {
      const q = parseBody(WatchQuery, req.query, 'query');
      return reply.send((await watches.list({ state: q.state, serial: q.serial }, q.limit)) satisfies DeviceWatch[]);
    } catch (err) {
      if (isAppError(err) && err.code === ErrorCode.PAYLOAD_INVALID)
        return reply.code(400).send({ error: err.message, code: err.code });
      logger.error({ err }, 'watch API request failed');
      return reply.code(500).send({ error: 'internal error', code: ErrorCode.INTERNAL });
    }
  });

  let off: (() => void) | undefined;
  return {
    name: 'rules',
    watches,
    async start() {
      await watches.migrate();
      followChanges(feed, 'watches', writes, {
        one: (serial) => reloadWatches(serial),
        all: () => reloadWatches(undefined),
      });
      for (const w of await watches.active()) {
        trendRules.add(w.rule);
        firing.set(w.serial, (firing.get(w.serial) ?? new Set()).add(w.rule));
      }
      if (!cfg.enabled) return;
      off = ctx.bus.on('health', ({ record }) => {
        if (!duties.holds(record.site)) return;
        const serial = record.identity.serial;
        let device = devices.get(serial);
        if (!device) {
          const wants: VerdictFilter = (rule, kind, isFiring) => isActedOn(serial, rule, kind, isFiring);
          device = { rules: new DeviceRules(cfg), wants };
          devices.set(serial, device);
        }
        const atMs = Date.parse(record.observedAt);
        const registry = ctx.services.registry;
        const reg = registry?.get(serial);
        const isPlanned = registry?.isInMaintenance(serial, reg?.site ?? record.site, atMs) ?? false;
        const at = record.observedAt;
        for (const v of device.rules.observe(record, atMs, isPlanned, device.wants))
          onVerdict(serial, reg?.customer ?? record.customer, v, at);
      });
    },
    async stop() {
      off?.();
      await writes.idle();
    },
  };
}
