/**
 * Registry management without restarts (admins; maintenance windows also engineers):
 * customers and sites (create/read/update/delete), devices (`POST /api/devices` create, `DELETE`), contracts
 * (`GET/PUT /api/contracts/:number`, `POST /api/contracts/:number/end`), maintenance windows
 * (`DELETE /api/maintenance/:id` ends one). A duplicate key answers 409, a bad reference 422, a thing still in
 * use 409 `IN_USE`. The older routes (`PUT /api/devices/:serial`, `POST /api/contracts`, `POST /api/maintenance`)
 * are in hub/api/module.ts.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { parseOrThrow } from '../../protocols/validation.ts';
import { ContractConfig, CustomerConfig, DeviceConfig } from '../config.ts';
import type { CustomerDirectory } from './customers.ts';
import { checkContractReferences, checkDeviceReferences } from './references.ts';
import type { Registry } from './registry.ts';

const IdParam = z.strictObject({ id: z.string().min(1).max(64) });
const SerialParam = z.strictObject({ serial: z.string().min(1).max(64) });
const NumberParam = z.strictObject({ number: z.string().min(1).max(64) });
const WindowParam = z.strictObject({ id: z.coerce.number().int().min(1) });
const NewCustomer = CustomerConfig.omit({ calendar: true });
const EditCustomer = z.strictObject({
  name: z.string().min(1).optional(),
  contactEmail: z.email().nullable().optional(),
});
const NewSite = z.strictObject({
  id: DeviceConfig.shape.site,
  customer: DeviceConfig.shape.customer,
  name: z.string().max(120).optional(),
});
const EditContract = ContractConfig.omit({ number: true });
const EndContract = z.strictObject({ lastDay: z.iso.date().optional() });

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  return parseOrThrow(schema, value ?? {}, ErrorCode.PAYLOAD_INVALID, where);
}

export function registerRegistryAdminRoutes(
  http: FastifyInstance,
  deps: { registry: Registry; customers: CustomerDirectory; now: () => number; timeZone: string },
): void {
  const { registry, customers } = deps;

  http.get('/api/customers', { config: { access: 'internal' } }, async () => customers.list());
  http.post(
    '/api/customers',
    {
      config: {
        access: 'admin',
        audit: { action: 'customer.add', kind: 'customer', id: 'body.id' },
        zod: { body: NewCustomer },
      },
    },
    async (request, reply) => reply.code(201).send(await customers.add(parse(NewCustomer, request.body, 'body'))),
  );
  http.get('/api/customers/:id', { config: { access: 'internal' } }, async (request) => {
    const { id } = parse(IdParam, request.params, 'params');
    const customer = customers.get(id);
    if (customer === undefined) throw new AppError(ErrorCode.NOT_FOUND, `customer "${id}" not found`);
    return customer;
  });
  http.patch(
    '/api/customers/:id',
    {
      config: {
        access: 'admin',
        audit: { action: 'customer.update', kind: 'customer', id: 'params.id' },
        zod: { body: EditCustomer },
      },
    },
    async (request) =>
      await customers.update(parse(IdParam, request.params, 'params').id, parse(EditCustomer, request.body, 'body')),
  );
  http.delete(
    '/api/customers/:id',
    { config: { access: 'admin', audit: { action: 'customer.remove', kind: 'customer', id: 'params.id' } } },
    async (request, reply) => {
      const { id } = parse(IdParam, request.params, 'params');
      const devices = registry.list().filter((d) => d.customer === id).length;
      const contracts = registry.listContracts(deps.now()).filter((c) => c.customer === id).length;
      await customers.remove(id, [
        ...(devices > 0 ? [`${devices} device(s)`] : []),
        ...(contracts > 0 ? [`${contracts} contract(s)`] : []),
      ]);
      return reply.code(204).send();
    },
  );

  http.get('/api/sites', { config: { access: 'read' } }, async () => customers.sites());
  http.post(
    '/api/sites',
    {
      config: { access: 'admin', audit: { action: 'site.add', kind: 'site', id: 'body.id' }, zod: { body: NewSite } },
    },
    async (request, reply) => reply.code(201).send(await customers.addSite(parse(NewSite, request.body, 'body'))),
  );
  http.delete(
    '/api/sites/:id',
    { config: { access: 'admin', audit: { action: 'site.remove', kind: 'site', id: 'params.id' } } },
    async (request, reply) => {
      const { id } = parse(IdParam, request.params, 'params');
      const used = registry.list().filter((d) => d.site === id).length;
      if (used > 0) throw new AppError(ErrorCode.IN_USE, `site "${id}" still has ${used} device(s)`);
      await customers.removeSite(id);
      return reply.code(204).send();
    },
  );

  http.post(
    '/api/devices',
    {
      config: {
        access: 'admin',
        audit: { action: 'device.add', kind: 'device', id: 'body.serial' },
        zod: { body: DeviceConfig },
      },
    },
    async (request, reply) => {
      const device = parse(DeviceConfig, request.body, 'body');
      if (registry.get(device.serial) !== undefined)
        throw new AppError(ErrorCode.DUPLICATE_KEY, `device "${device.serial}" already exists`);
      checkDeviceReferences(registry, customers, device);
      return reply.code(201).send(await registry.insertDevice(device));
    },
  );
  http.delete(
    '/api/devices/:serial',
    { config: { access: 'admin', audit: { action: 'device.remove', kind: 'device', id: 'params.serial' } } },
    async (request, reply) => {
      await registry.removeDevice(parse(SerialParam, request.params, 'params').serial);
      return reply.code(204).send();
    },
  );

  http.get(
    '/api/contracts/:number',
    { config: { access: 'read', scope: { contract: 'params.number' } } },
    async (request) => {
      const { number } = parse(NumberParam, request.params, 'params');
      const contract = registry.contract(number);
      if (contract === undefined) throw new AppError(ErrorCode.NOT_FOUND, `contract "${number}" not found`);
      return contract;
    },
  );
  http.put(
    '/api/contracts/:number',
    {
      config: {
        access: 'admin',
        audit: { action: 'contract.update', kind: 'contract', id: 'params.number' },
        zod: { body: EditContract },
      },
    },
    async (request) => {
      const { number } = parse(NumberParam, request.params, 'params');
      if (registry.contract(number) === undefined)
        throw new AppError(ErrorCode.NOT_FOUND, `contract "${number}" not found`);
      const contract = { ...parse(EditContract, request.body, 'body'), number };
      checkContractReferences(registry, customers, contract);
      return await registry.upsertContract(contract);
    },
  );
  http.post(
    '/api/contracts/:number/end',
    {
      config: {
        access: 'admin',
        audit: { action: 'contract.end', kind: 'contract', id: 'params.number' },
        zod: { body: EndContract },
      },
    },
    async (request) => {
      const { number } = parse(NumberParam, request.params, 'params');
      const { lastDay } = parse(EndContract, request.body, 'body');
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: deps.timeZone }).format(deps.now());
      return await registry.endContract(number, lastDay ?? today);
    },
  );

  http.delete(
    '/api/maintenance/:id',
    { config: { access: 'engineer', audit: { action: 'maintenance.end', kind: 'maintenance', id: 'params.id' } } },
    async (request) => {
      const { id } = parse(WindowParam, request.params, 'params');
      return (await registry.endMaintenance(id)) ?? { id, deleted: true };
    },
  );
}
