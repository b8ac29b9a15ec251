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
import type { Registry } from '../registry/registry.ts';
import { bearerToken, checkToken, isPublicPath, isReadMethod } from './auth.ts';
import { installErrorHandlers } from './errors.ts';

const DeviceEdit = DeviceConfig.omit({ serial: true });
const SerialParam = z.strictObject({ serial: z.string().min(1).max(64) });
/** A device registered through the API must have a serial agents can publish under (topic segment rules). */
const RegisterSerialParam = z.strictObject({ serial: Serial });

function body<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  return parseOrThrow(schema, value ?? {}, ErrorCode.PAYLOAD_INVALID, where);
}

export function createApiModule(ctx: HubContext, registry: Registry, outage: OutageModule): HubModule {
  const { http, config, clock } = ctx;
  installErrorHandlers(http);

  http.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '/';
    if (isPublicPath(path)) return;
    const role = checkToken(config, bearerToken(request.headers.authorization));
    if (role === null) {
      return reply
        .status(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'expected Authorization: Bearer <token>' });
    }
    if (role === 'read' && !isReadMethod(request.method)) {
      return reply.status(403).send({ error: 'read-only token: only GET is allowed' });
    }
  });

  const node = hubNodeId(config);
  http.get('/healthz', async () => ({ status: 'ok', node }));

  http.get('/metrics', async (_request, reply) => {
    const text = await ctx.metrics.metrics();
    return reply.type(ctx.metrics.contentType).send(text);
  });

  http.get('/api/devices', async () => outage.list());

  http.get('/api/devices/:serial', async (request) => {
    const { serial } = body(SerialParam, request.params, 'params');
    const detail = outage.detail(serial);
    if (detail === undefined) throw new AppError(ErrorCode.NOT_FOUND, `device ${serial}: not registered or seen`);
    return detail;
  });

  http.put('/api/devices/:serial', async (request) => {
    const { serial } = body(RegisterSerialParam, request.params, 'params');
    const edit = body(DeviceEdit, request.body, 'body');
    registry.upsertDevice({ ...edit, serial }, 'api');
    return outage.get(serial);
  });

  http.get('/api/contracts', async () => registry.listContracts(clock.now()));

  http.post('/api/contracts', async (request, reply) => {
    const contract = body(ContractConfig, request.body, 'body');
    return reply.status(201).send(registry.upsertContract(contract));
  });

  http.get('/api/maintenance', async () => registry.listMaintenance());

  http.post('/api/maintenance', async (request, reply) => {
    const window = body(MaintenanceWindow, request.body, 'body');
    if (Date.parse(window.to) <= Date.parse(window.from)) {
      throw new AppError(
        ErrorCode.PAYLOAD_INVALID,
        `body: to: expected an instant after \`from\` (${window.from}), got ${JSON.stringify(window.to)}`,
      );
    }
    return reply.status(201).send(registry.addMaintenance(window));
  });

  return { name: 'api' };
}
