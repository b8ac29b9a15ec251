/**
 * The hub's HTTP API core: token auth on everything but `/healthz`, `/` and `/noc/*`; `/healthz`, `/metrics`,
 * devices, contracts and maintenance windows. Other modules add their routes to `ctx.http` themselves.
 */
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { Serial } from '../../protocols/health.ts';
import { parseOrThrow } from '../../protocols/validation.ts';
import { ContractConfig, DeviceConfig, MaintenanceWindow } from '../config.ts';
import type { HubContext, HubModule } from '../context.ts';
import { hubNodeId } from '../node-id.ts';
import type { OutageModule } from '../outage/module.ts';
import { checkContractReferences, checkDeviceReferences } from '../registry/references.ts';
import type { Registry } from '../registry/registry.ts';
import { storageHealthOf } from '../storage/storage-health.ts';
import { installBodyGuard } from './body-guard.ts';
import { installErrorHandlers } from './errors.ts';

const DeviceEdit = DeviceConfig.omit({ serial: true });
const SerialParam = z.strictObject({ serial: z.string().min(1).max(64) });
/** A device registered through the API must have a serial agents can publish under (topic segment rules). */
const RegisterSerialParam = z.strictObject({ serial: Serial });

function body<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  return parseOrThrow(schema, value ?? {}, ErrorCode.PAYLOAD_INVALID, where);
}

export function createApiModule(ctx: HubContext, registry: Registry, outage: OutageModule): HubModule {
  const { http, clock } = ctx;
  installErrorHandlers(http);
  installBodyGuard(http);

  const node = hubNodeId(ctx.config);
  // 503 + reasons while store writes wait for a retry (disk full): monitors that check `ok` see it (README).
  http.get('/healthz', { config: { access: 'public' } }, async (_request, reply) => {
    const storage = storageHealthOf(ctx).status();
    // a cluster node also says which partitions it holds (issue 16)
    const cluster = ctx.services.cluster?.health();
    const partitions = cluster === undefined ? {} : { partitions: cluster.partitions, liveNodes: cluster.liveNodes };
    if (storage.status === 'ok') return { status: 'ok', node, ...partitions };
    return reply
      .status(503)
      .send({ status: 'degraded', node, ...partitions, reasons: storage.reasons, freeBytes: storage.freeBytes });
  });

  http.get('/metrics', { config: { access: 'internal' } }, async (_request, reply) => {
    const text = await ctx.metrics.metrics();
    return reply.type(ctx.metrics.contentType).send(text);
  });

  http.get('/api/devices', { config: { access: 'read' } }, async () => outage.list());

  http.get(
    '/api/devices/:serial',
    { config: { access: 'read', scope: { device: 'params.serial' } } },
    async (request) => {
      const { serial } = body(SerialParam, request.params, 'params');
      const detail = await outage.detail(serial);
      if (detail === undefined) throw new AppError(ErrorCode.NOT_FOUND, `device ${serial}: not registered or seen`);
      return detail;
    },
  );

  http.put(
    '/api/devices/:serial',
    {
      config: {
        access: 'admin',
        audit: { action: 'device.put', kind: 'device', id: 'params.serial' },
        zod: { body: DeviceEdit },
      },
    },
    async (request) => {
      const { serial } = body(RegisterSerialParam, request.params, 'params');
      const edit = body(DeviceEdit, request.body, 'body');
      if (ctx.services.customers !== undefined)
        checkDeviceReferences(registry, ctx.services.customers, { ...edit, serial });
      await registry.upsertDevice({ ...edit, serial }, 'api');
      return outage.get(serial);
    },
  );

  http.get('/api/contracts', { config: { access: 'read' } }, async () => registry.listContracts(clock.now()));

  http.post(
    '/api/contracts',
    {
      config: {
        access: 'admin',
        audit: { action: 'contract.add', kind: 'contract', id: 'body.number' },
        zod: { body: ContractConfig },
      },
    },
    async (request, reply) => {
      const contract = body(ContractConfig, request.body, 'body');
      if (ctx.services.customers !== undefined) checkContractReferences(registry, ctx.services.customers, contract);
      return reply.status(201).send(await registry.insertContract(contract));
    },
  );

  http.get('/api/maintenance', { config: { access: 'internal' } }, async () => registry.listMaintenance());

  http.post(
    '/api/maintenance',
    { config: { access: 'engineer', audit: { action: 'maintenance.add' }, zod: { body: MaintenanceWindow } } },
    async (request, reply) => {
      const window = body(MaintenanceWindow, request.body, 'body');
      if (Date.parse(window.to) <= Date.parse(window.from)) {
        throw new AppError(
          ErrorCode.PAYLOAD_INVALID,
          `body: to: expected an instant after \`from\` (${window.from}), got ${JSON.stringify(window.to)}`,
        );
      }
      return reply.status(201).send(await registry.addMaintenance(window));
    },
  );

  return { name: 'api' };
}
