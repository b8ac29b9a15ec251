/**
 * Users (admins only) and personal API tokens (each signed-in person for themself; admins for anyone):
 * - `GET/POST /api/users`, `GET/PATCH/DELETE /api/users/:name` (409 `DUPLICATE_KEY` on an existing name);
 * - `POST /api/tokens {label?, user?}` -> 201 `{token, id, ...}` (the secret is shown once, stored hashed),
 *   `GET /api/tokens`, `DELETE /api/tokens/:id` (revoke). A token carries its owner's role and scope.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { parseOrThrow } from '../../protocols/validation.ts';
import { hashUserPassword, MIN_PASSWORD_LENGTH } from './passwords.ts';
import type { Principal } from './roles.ts';
import { type PeopleStore, UserName, UserRole } from './store.ts';

const Password = z.string().min(MIN_PASSWORD_LENGTH, `expected at least ${MIN_PASSWORD_LENGTH} characters`).max(1024);
const CustomerId = z.string().min(1).max(64);
const NewUserBody = z.strictObject({
  name: UserName,
  role: UserRole,
  customer: CustomerId.optional(),
  customers: z.array(CustomerId).min(1).optional(),
  password: Password,
});
const EditUserBody = z.strictObject({
  role: UserRole.optional(),
  customer: CustomerId.nullable().optional(),
  customers: z.array(CustomerId).min(1).nullable().optional(),
  password: Password.optional(),
});
const NameParam = z.strictObject({ name: z.string().min(1).max(64) });
const NewTokenBody = z.strictObject({
  label: z.string().trim().min(1).max(120).default('api'),
  user: UserName.optional(),
});
const IdParam = z.strictObject({ id: z.string().min(1).max(64) });

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  return parseOrThrow(schema, value ?? {}, ErrorCode.PAYLOAD_INVALID, where);
}

/** The user a principal acts as (config tokens have none). */
function ownUser(p: Principal): string | undefined {
  return p.kind === 'token' || p.kind === 'session' ? p.name : undefined;
}

export function registerPeopleRoutes(
  http: FastifyInstance,
  deps: { store: PeopleStore; customerExists: (id: string) => boolean },
): void {
  const { store } = deps;
  const checkCustomers = (ids: readonly (string | null | undefined)[]) => {
    for (const id of ids) {
      if (typeof id === 'string' && !deps.customerExists(id))
        throw new AppError(ErrorCode.REFERENCE_INVALID, `customer: no customer "${id}"`);
    }
  };

  http.get('/api/users', { config: { access: 'admin' } }, async () => await store.users());

  http.post(
    '/api/users',
    {
      config: {
        access: 'admin',
        audit: { action: 'user.add', kind: 'user', id: 'body.name' },
        zod: { body: NewUserBody },
      },
    },
    async (request, reply) => {
      const body = parse(NewUserBody, request.body, 'body');
      checkCustomers([body.customer, ...(body.customers ?? [])]);
      const passwordHash = await hashUserPassword(body.password);
      return reply.code(201).send(
        await store.addUser({
          name: body.name,
          role: body.role,
          customer: body.customer,
          customers: body.customers,
          passwordHash,
        }),
      );
    },
  );

  http.get('/api/users/:name', { config: { access: 'admin' } }, async (request) => {
    const { name } = parse(NameParam, request.params, 'params');
    const user = await store.user(name);
    if (user === undefined) throw new AppError(ErrorCode.NOT_FOUND, `user "${name}" not found`);
    return user;
  });

  http.patch(
    '/api/users/:name',
    {
      config: {
        access: 'admin',
        audit: { action: 'user.update', kind: 'user', id: 'params.name' },
        zod: { body: EditUserBody },
      },
    },
    async (request) => {
      const { name } = parse(NameParam, request.params, 'params');
      const body = parse(EditUserBody, request.body, 'body');
      checkCustomers([body.customer, ...(body.customers ?? [])]);
      return await store.updateUser(name, {
        ...(body.role !== undefined ? { role: body.role } : {}),
        ...(body.customer !== undefined ? { customer: body.customer } : {}),
        ...(body.customers !== undefined ? { customers: body.customers } : {}),
        ...(body.password !== undefined ? { passwordHash: await hashUserPassword(body.password) } : {}),
      });
    },
  );

  http.delete(
    '/api/users/:name',
    { config: { access: 'admin', audit: { action: 'user.remove', kind: 'user', id: 'params.name' } } },
    async (request, reply) => {
      const { name } = parse(NameParam, request.params, 'params');
      await store.removeUser(name);
      return reply.code(204).send();
    },
  );

  http.get('/api/tokens', { config: { access: 'customer', isCallerData: true } }, async (request) => {
    const p = request.principal!;
    return p.role === 'admin' ? await store.tokens() : await store.tokens(ownUser(p) ?? '');
  });

  http.post(
    '/api/tokens',
    {
      config: {
        access: 'customer',
        isCallerData: true,
        audit: { action: 'token.create' },
        zod: { body: NewTokenBody },
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      const body = parse(NewTokenBody, request.body, 'body');
      const owner = body.user ?? ownUser(p);
      if (owner === undefined) throw new AppError(ErrorCode.PAYLOAD_INVALID, 'user: expected the owner of the token');
      if (owner !== ownUser(p) && p.role !== 'admin')
        throw new AppError(ErrorCode.FORBIDDEN, 'only an admin creates tokens for someone else');
      const { token, view } = await store.createToken(owner, body.label);
      request.auditDetail = { target: `token:${view.id}`, after: view };
      return reply.code(201).send({ ...view, token });
    },
  );

  http.delete(
    '/api/tokens/:id',
    { config: { access: 'customer', isCallerData: true, audit: { action: 'token.revoke' } } },
    async (request, reply) => {
      const p = request.principal!;
      const { id } = parse(IdParam, request.params, 'params');
      const token = await store.token(id);
      // Someone else's token does not exist for a non-admin.
      if (token === undefined || (p.role !== 'admin' && token.user !== ownUser(p)))
        throw new AppError(ErrorCode.NOT_FOUND, `token "${id}" not found`);
      request.auditDetail = { target: `token:${id}`, before: token };
      await store.revokeToken(id);
      return reply.code(204).send();
    },
  );
}
