/**
 * Adoption as a hub module: the pending-devices store, the ownership gate (`ctx.services.ownership`, used by
 * the ingest and the command router) and the admin routes:
 *   GET  /api/devices/pending                      the pending serials (admins and read tokens)
 *   POST /api/devices/pending/:serial/adopt         {customer, site?, model?, name?, contract?} -> registered
 *   POST /api/devices/pending/:serial/reject        refused from now on
 */
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { DeviceModel, Serial } from '../../protocols/health.ts';
import { SEGMENT_PATTERN } from '../../protocols/topics.ts';
import { parseOrThrow } from '../../protocols/validation.ts';
import type { HubContext, HubModule } from '../context.ts';
import { DeviceOwnership } from './ownership.ts';
import { PendingDevices } from './pending.ts';
import type { Registry } from './registry.ts';

const Segment = z.string().regex(SEGMENT_PATTERN, 'expected letters, digits, _ . - (no / + #)');
const SerialParam = z.strictObject({ serial: Serial });
const AdoptBody = z.strictObject({
  customer: Segment,
  /** Default: the site of the agent that reported it. */
  site: Segment.optional(),
  model: DeviceModel.optional(),
  name: z.string().max(120).optional(),
  /** An existing contract number this device joins. */
  contract: z.string().min(1).max(64).optional(),
});

export interface AdoptionModule extends HubModule {
  readonly pending: PendingDevices;
  readonly ownership: DeviceOwnership;
}

export function createAdoptionModule(ctx: HubContext, registry: Registry): AdoptionModule {
  const { http, config, clock, logger } = ctx;
  const log = logger.child({ component: 'adoption' });
  const pending = new PendingDevices(
    ctx.sql,
    () => clock.now(),
    config.adoption.maxPendingPerAgent,
    (err) => log.error({ err }, 'pending device not stored (or not reloaded)'),
    ctx.services.changeFeed,
  );
  const ownership = new DeviceOwnership(registry, pending, config);
  ctx.services.ownership = ownership;

  const visible = () => pending.list().filter((d) => registry.get(d.serial) === undefined);

  http.get('/api/devices/pending', { config: { access: 'internal' } }, async () => visible());

  http.post('/api/devices/pending/:serial/adopt', { config: { access: 'admin' } }, async (request, reply) => {
    const { serial } = parseOrThrow(SerialParam, request.params, ErrorCode.PAYLOAD_INVALID, 'params');
    const body = parseOrThrow(AdoptBody, request.body ?? {}, ErrorCode.PAYLOAD_INVALID, 'body');
    const found = pending.get(serial);
    if (found === undefined) throw new AppError(ErrorCode.NOT_FOUND, `device ${serial}: not pending adoption`);
    let contract: ReturnType<Registry['contract']>;
    if (body.contract !== undefined) {
      contract = registry.contract(body.contract);
      if (contract === undefined)
        throw new AppError(ErrorCode.NOT_FOUND, `body: contract: no contract ${body.contract}`);
      if (contract.customer !== body.customer) {
        throw new AppError(
          ErrorCode.PAYLOAD_INVALID,
          `body: contract: contract ${body.contract} belongs to customer ${contract.customer}, not ${body.customer}`,
        );
      }
    }
    const model = body.model ?? DeviceModel.safeParse(found.model).data ?? 'unknown';
    await registry.upsertDevice(
      {
        serial,
        model,
        site: body.site ?? found.site,
        customer: body.customer,
        ...(body.name !== undefined ? { name: body.name } : {}),
      },
      'api',
    );
    if (contract !== undefined) {
      const { serials, number, customer, start } = contract;
      const full = registry.listContracts(clock.now()).find((c) => c.number === number);
      await registry.upsertContract({
        number,
        customer,
        start,
        termYears: full?.termYears ?? 1,
        extensionYears: full?.extensionYears ?? 0,
        serials: [...new Set([...serials, serial])],
      });
    }
    await pending.remove(serial);
    log.info({ serial, site: body.site ?? found.site, customer: body.customer }, 'device adopted');
    return reply.status(201).send(registry.get(serial));
  });

  http.post('/api/devices/pending/:serial/reject', { config: { access: 'admin' } }, async (request) => {
    const { serial } = parseOrThrow(SerialParam, request.params, ErrorCode.PAYLOAD_INVALID, 'params');
    if (pending.get(serial) === undefined) {
      throw new AppError(ErrorCode.NOT_FOUND, `device ${serial}: not pending adoption`);
    }
    await pending.reject(serial);
    log.info({ serial }, 'pending device rejected');
    return { serial, rejected: true };
  });

  return {
    name: 'adoption',
    pending,
    ownership,
    async start() {
      await pending.start();
    },
    stop() {
      return pending.idle();
    },
  };
}
