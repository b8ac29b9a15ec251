/**
 * Safe remote reboot (issue 18). From the live health records: REST hung (timeout or HTTP 5xx) while SNMP or TCP
 * shows the unit alive for `hungPolls` polls -> the device's automatic ticket (P2, opened or found) gets the
 * decision: under the customer's policy (allowed hours, never during a call - SNMP/REST call state -, at most one
 * automatic reboot per device per `minIntervalMs`; off by default) the hub sends `reboot` to the device's agent
 * (REST reboot, else the SSH CLI) and notes the before evidence, the channel and the result; when REST answers again
 * it notes "recovered after remote reboot" with the after evidence (the ticket stays, for the record). Otherwise it
 * notes why nothing was rebooted (once per episode). Engineers: `POST /api/devices/:serial/reboot {actor, reason}`
 * (refused during a call unless `force`); `GET /api/reboots?serial=`.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../protocols/clock.ts';
import { ErrorCode, isAppError } from '../../protocols/errors.ts';
import type { HealthRecord } from '../../protocols/health.ts';
import { dutiesOf } from '../cluster/partition-duties.ts';
import type { HubContext, HubModule } from '../context.ts';
import { followChanges, NO_CHANGE_FEED } from '../store/change-feed.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import { parseBody } from '../tickets/routes.ts';
import { decideAutoReboot } from './policy.ts';
import type { RemoteRebootConfig } from './reboot-config.ts';
import { RebootStore } from './reboot-store.ts';

const ManualBody = z.strictObject({
  actor: z.string().trim().min(1).max(200),
  reason: z.string().trim().min(1).max(500),
  force: z.boolean().default(false),
});
const ListQuery = z.strictObject({
  serial: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const ACTOR = 'monitor';

interface Episode {
  hungPolls: number;
  /** The decision was taken (reboot sent, or refusal noted) for this episode. */
  isDecided: boolean;
  /** A reboot was sent: waiting for REST to answer again. */
  awaiting?: {
    rebootId: number;
    ticketId: string | undefined;
    sentAtMs: number;
    uptimeBeforeS: number | undefined;
    /** A record after the reboot showed REST failing (the unit went down). */
    sawDown: boolean;
  };
}

/** What the reboot evidence needs of a record (kept per device instead of the whole parsed record). */
type ProbeFacts = Pick<HealthRecord, 'observedAt' | 'reachability'> & {
  uptimeS?: number | undefined;
  call?: { readonly inCall: boolean } | undefined;
};
const IN_CALL = { inCall: true } as const;
const NOT_IN_CALL = { inCall: false } as const;

/** One line with what each channel said (the evidence before / after). */
export function describeProbes(r: ProbeFacts): string {
  const probes = Object.entries(r.reachability)
    .filter(([, p]) => p !== undefined)
    .map(([c, p]) => `${c} ${p?.ok ? 'ok' : `failed (${p?.error?.kind ?? '?'}: ${p?.error?.message ?? ''})`}`);
  const uptime = r.uptimeS === undefined ? '' : `, uptime ${r.uptimeS} s`;
  const call = r.call?.inCall ? ', in a call' : '';
  return `${r.observedAt}: ${probes.join('; ')}${uptime}${call}`;
}

function isRestHung(r: HealthRecord): boolean {
  const rest = r.reachability.rest;
  if (rest === undefined || rest.ok) return false;
  const kind = rest.error?.kind;
  const isHung = kind === 'timeout' || (kind === 'http' && (rest.error?.httpStatus ?? 0) >= 500);
  const isAlive = r.reachability.snmp?.ok === true || r.reachability.tcp?.ok === true;
  return isHung && isAlive;
}

export interface RebootModule extends HubModule {
  readonly store: RebootStore;
}

/** `deps.policyClock`: the clock the policy's hours are read on (default the hub's; tests set the time of day). */
export function createRebootModule(
  ctx: HubContext,
  deps: { policyClock?: Clock; config?: RemoteRebootConfig } = {},
): RebootModule {
  const cfg = deps.config ?? ctx.config.remoteReboot;
  const policyClock = deps.policyClock ?? ctx.clock;
  const logger = ctx.logger.child({ component: 'reboot' });
  const duties = dutiesOf(ctx);
  const store = new RebootStore(ctx.sql);
  /** The store is async: its writes run in order (a reboot's `sent` before its `recovered`); stop waits for them. */
  const writes = new SerialQueue((err) => logger.error({ err }, 'reboot record not stored'));
  /**
   * serial -> last automatic reboot (ms): the in-memory view the synchronous health listener's policy check reads,
   * loaded at start and set when an automatic reboot is requested (before its row is written).
   */
  const lastAuto = new Map<string, number>();
  /** Other nodes' automatic reboots reach `lastAuto` (issue 16); it only grows: the later of the two wins. */
  const feed = ctx.services.changeFeed ?? NO_CHANGE_FEED;
  const learnLastAuto = (serial: string, ms: number | undefined) => {
    if (ms !== undefined && ms > (lastAuto.get(serial) ?? Number.NEGATIVE_INFINITY)) lastAuto.set(serial, ms);
  };
  const episodes = new Map<string, Episode>();
  const lastRecord = new Map<string, ProbeFacts>();

  /** Not awaited: the ticket service stores and announces one ticket's notes in call order. */
  const note = (ticketId: string | undefined, text: string) => {
    if (!ticketId) return;
    ctx.services.ticketService
      ?.addNote(ticketId, ACTOR, text)
      .catch((err: unknown) => logger.warn({ err, ticketId }, 'reboot note not added'));
  };

  const ticketFor = async (r: HealthRecord): Promise<string | undefined> => {
    try {
      return (
        await ctx.services.ticketService?.openAuto({
          serial: r.identity.serial,
          state: 'degraded',
          reason: 'rest-hung',
          evidence: [`REST hung while the unit answers otherwise: ${describeProbes(r)}`],
          site: r.site,
          customer: r.customer,
          at: r.observedAt,
        })
      )?.ticket.id;
    } catch (err) {
      logger.error({ err, serial: r.identity.serial }, 'ticket for the hung REST not opened');
      return undefined;
    }
  };

  /** Send the reboot to the device's agent; notes and the store say what happened. */
  const sendReboot = async (
    serial: string,
    input: {
      trigger: 'auto' | 'manual';
      actor: string;
      reason: string;
      ticketId: string | undefined;
      before: ProbeFacts | undefined;
    },
  ) => {
    const commands = ctx.services.commands;
    const target = commands?.agentFor(serial);
    const atMs = ctx.clock.now();
    if (input.trigger === 'auto') lastAuto.set(serial, atMs);
    const rebootId = await writes.run(() =>
      store.add(
        {
          serial,
          trigger: input.trigger,
          actor: input.actor,
          reason: input.reason,
          ticketId: input.ticketId ?? null,
          requestedAt: new Date(atMs).toISOString(),
        },
        atMs,
      ),
    );
    if (input.trigger === 'auto') await feed.notify('reboots', serial); // the other nodes count it too
    if (!commands || !target) {
      await writes.run(() => store.update(rebootId, 'failed', 'no agent watches this device'));
      note(input.ticketId, 'remote reboot failed: no agent watches this device');
      return { rebootId, ok: false as const, detail: 'no agent watches this device' };
    }
    try {
      const reply = await commands.send(target, {
        v: 1,
        id: `rb-${randomBytes(9).toString('hex')}`,
        kind: 'reboot',
        serial,
        issuedAt: new Date(atMs).toISOString(),
        timeoutMs: cfg.commandTimeoutMs,
        reason: input.reason.slice(0, 500),
        ...(input.ticketId ? { ticketId: input.ticketId } : {}),
      });
      if (!reply.ok) {
        await writes.run(() => store.update(rebootId, 'failed', `${reply.code}: ${reply.error}`));
        note(input.ticketId, `remote reboot failed (${reply.code}): ${reply.error}`);
        return { rebootId, ok: false as const, detail: reply.error };
      }
      const channel = String(reply.data.channel ?? '?');
      const attempts = Array.isArray(reply.data.attempts) ? (reply.data.attempts as unknown[]).map(String) : [];
      await writes.run(() => store.update(rebootId, 'sent', attempts.join('; '), channel));
      note(
        input.ticketId,
        `remote reboot sent through ${channel === 'ssh' ? 'the SSH CLI (reboot now)' : 'REST (POST /rest/system/reboot)'}: ${attempts.join('; ')}`,
      );
      episodes.set(serial, {
        hungPolls: 0,
        isDecided: true,
        awaiting: {
          rebootId,
          ticketId: input.ticketId,
          sentAtMs: ctx.clock.now(),
          uptimeBeforeS: input.before?.uptimeS,
          sawDown: false,
        },
      });
      return { rebootId, ok: true as const, detail: `${channel}: ${attempts.join('; ')}` };
    } catch (err) {
      const message = (err as Error).message;
      await writes.run(() => store.update(rebootId, 'failed', message));
      note(input.ticketId, `remote reboot failed: ${message}`);
      return { rebootId, ok: false as const, detail: message };
    }
  };

  const onRecord = (r: HealthRecord) => {
    const serial = r.identity.serial;
    // The facts only, updated in place: a whole record (or a new object) kept per device until the next one
    // would outlive a scavenge, then be old-generation garbage.
    const facts = lastRecord.get(serial);
    const call = r.call === undefined ? undefined : r.call.inCall ? IN_CALL : NOT_IN_CALL;
    if (facts === undefined) {
      lastRecord.set(serial, { observedAt: r.observedAt, reachability: r.reachability, uptimeS: r.uptimeS, call });
    } else {
      facts.observedAt = r.observedAt;
      facts.reachability = r.reachability;
      facts.uptimeS = r.uptimeS;
      facts.call = call;
    }
    const episode = episodes.get(serial);
    const restOk = r.reachability.rest?.ok === true;
    if (episode?.awaiting) {
      const a = episode.awaiting;
      const rebooted = a.uptimeBeforeS !== undefined && r.uptimeS !== undefined && r.uptimeS < a.uptimeBeforeS;
      if (!restOk) a.sawDown = true;
      // an answer from before the unit went down (a poll in flight) is not a recovery
      if (restOk && (a.sawDown || rebooted)) {
        episodes.delete(serial);
        void writes.push(() => store.update(a.rebootId, 'recovered', describeProbes(r)));
        note(
          a.ticketId,
          `recovered after remote reboot${rebooted ? '' : ' (uptime did not restart)'}: ${describeProbes(r)}`,
        );
        logger.warn({ serial }, 'device recovered after remote reboot');
      } else if (ctx.clock.now() - a.sentAtMs > cfg.recoveryTimeoutMs) {
        episode.awaiting = undefined;
        void writes.push(() => store.update(a.rebootId, 'not-recovered', describeProbes(r)));
        note(
          a.ticketId,
          `not recovered ${Math.round(cfg.recoveryTimeoutMs / 60_000)} min after the remote reboot: ${describeProbes(r)}`,
        );
      }
      return;
    }
    if (!isRestHung(r)) {
      if (restOk) episodes.delete(serial);
      return;
    }
    const e = episode ?? { hungPolls: 0, isDecided: false };
    e.hungPolls++;
    episodes.set(serial, e);
    if (e.isDecided || e.hungPolls < cfg.hungPolls) return;
    e.isDecided = true;
    const customer = ctx.services.registry?.get(serial)?.customer ?? r.customer;
    const decision = decideAutoReboot({
      cfg,
      customer,
      atMs: policyClock.now(),
      inCall: r.call?.inCall === true,
      lastAutoRebootMs: lastAuto.get(serial),
    });
    // decided now (the policy's view counts this reboot at once); the ticket store is async (issue 16)
    if (decision.ok) lastAuto.set(serial, ctx.clock.now());
    const hungPolls = e.hungPolls;
    const act = async () => {
      const ticketId = await ticketFor(r);
      if (!decision.ok) {
        note(
          ticketId,
          `remote reboot not done: ${decision.why} (REST hung ${hungPolls} polls; before: ${describeProbes(r)})`,
        );
        logger.info({ serial, why: decision.why }, 'remote reboot not allowed');
        return;
      }
      note(
        ticketId,
        `remote reboot: REST hung ${hungPolls} polls while the unit answers otherwise; policy allows (${decision.why}); before: ${describeProbes(r)}`,
      );
      await sendReboot(serial, {
        trigger: 'auto',
        actor: ACTOR,
        reason: 'REST hung while SNMP/TCP answer',
        ticketId,
        before: r,
      });
    };
    act().catch((err: unknown) => logger.error({ err, serial }, 'automatic reboot not recorded'));
  };

  ctx.http.post<{ Params: { serial: string } }>(
    '/api/devices/:serial/reboot',
    { config: { access: 'engineer', scope: { device: 'params.serial' }, audit: { action: 'device.reboot' } } },
    async (req, reply) => {
      try {
        const body = parseBody(ManualBody, req.body, 'body');
        const actor = req.principal?.name ?? body.actor;
        const serial = req.params.serial;
        // A copy: the stored facts are updated in place by records arriving while the reboot is under way.
        const facts = lastRecord.get(serial);
        const before = facts === undefined ? undefined : { ...facts };
        if (!ctx.services.commands?.agentFor(serial)) {
          return reply.code(404).send({ error: `serial: no agent watches "${serial}"`, code: ErrorCode.NOT_FOUND });
        }
        if (before?.call?.inCall === true && !body.force) {
          return reply.code(409).send({
            error: 'the device is in a call (send force: true to reboot anyway)',
            code: ErrorCode.TRANSITION_NOT_ALLOWED,
          });
        }
        const open = (await ctx.services.tickets?.list({ state: 'open' }))?.find(
          (t) => t.serial === serial && t.channel === 'auto',
        );
        note(
          open?.id,
          `remote reboot asked by ${body.actor}: ${body.reason}${before ? `; before: ${describeProbes(before)}` : ''}`,
        );
        const result = await sendReboot(serial, {
          trigger: 'manual',
          actor,
          reason: body.reason,
          ticketId: open?.id,
          before,
        });
        return reply.code(result.ok ? 202 : 502).send({ id: result.rebootId, ok: result.ok, detail: result.detail });
      } catch (err) {
        if (isAppError(err) && err.code === ErrorCode.PAYLOAD_INVALID)
          return reply.code(400).send({ error: err.message, code: err.code });
        logger.error({ err }, 'reboot API request failed');
        return reply.code(500).send({ error: 'internal error', code: ErrorCode.INTERNAL });
      }
    },
  );
  ctx.http.get('/api/reboots', { config: { access: 'internal' } }, async (req, reply) => {
    try {
      const q = parseBody(ListQuery, req.query, 'query');
      return reply.send(await store.list(q.serial, q.limit));
    } catch (err) {
      if (isAppError(err)) return reply.code(400).send({ error: err.message, code: err.code });
      throw err;
    }
  });

  let off: (() => void) | undefined;
  return {
    name: 'reboot',
    store,
    async start() {
      await store.migrate();
      followChanges(feed, 'reboots', writes, {
        one: async (serial) => learnLastAuto(serial, await store.lastAutoMs(serial)),
        all: async () => {
          for (const [serial, ms] of await store.lastAutoBySerial()) learnLastAuto(serial, ms);
        },
      });
      for (const [serial, ms] of await store.lastAutoBySerial()) learnLastAuto(serial, ms);
      off = ctx.bus.on('health', ({ record }) => {
        if (!record.replayed && duties.holds(record.site)) onRecord(record); // issue 16: decided at the holder
      });
    },
    async stop() {
      off?.();
      await writes.idle();
    },
  };
}
