/**
 * Issue 16 ("every node serves the API for all partitions"): two real hubs (every module) on one real PostgreSQL 15.
 * A customer, device, contract, maintenance window or CSV import made through node A's API is served by node B's
 * API within a second, and B's access scope knows the new things' owner: acme's representative sees acme's new
 * device and contract on B, and gets 404 for the other customer's new device there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, TEST_ADMIN_TOKEN, type TestHub } from '../helpers/hub-fixture.ts';
import { PEOPLE_CONFIG, type PeopleHub, startPeopleHub } from '../helpers/people-fixture.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait-for.ts';

let postgres: Postgres;
let a: PeopleHub;
let b: TestHub;

beforeAll(async () => {
  postgres = await startPostgres();
  const shared = (node: string) => ({
    node,
    database: { url: postgres.url },
    cluster: { partitions: 4, leaseMs: 2_000, renewMs: 400 },
  });
  a = await startPeopleHub({ config: shared('hub-a') }); // its users and tokens are in PostgreSQL: good on B too
  b = await startTestHub({ modules: 'all', config: { ...PEOPLE_CONFIG, ...shared('hub-b') } });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await postgres?.close();
});

const send = async (hub: TestHub, method: string, path: string, body: unknown, token = TEST_ADMIN_TOKEN) => {
  const res = await hub.api(path, {
    method,
    token,
    headers: { 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const status = async (hub: TestHub, path: string, token = TEST_ADMIN_TOKEN) => (await hub.api(path, { token })).status;
/** Node B answers `expected` for `path` within a second. */
const onB = (path: string, expected: number, token = TEST_ADMIN_TOKEN) =>
  waitFor(async () => (await status(b, path, token)) === expected, {
    timeoutMs: 1_000,
    what: `${path} answering ${expected} on node B`,
  });

describe('the registry API on two hub nodes', () => {
  it("what node A's API creates, node B's API serves, within the customer's scope", async () => {
    const rep = a.tokens.customer; // acme's representative
    expect(await status(b, '/api/customers/initech')).toBe(404);
    expect((await send(a, 'POST', '/api/customers', { id: 'initech', name: 'Initech' })).status).toBe(201);
    await onB('/api/customers/initech', 200);

    expect(await status(b, '/api/devices/ACME-NEW', rep)).toBe(404);
    const device = { serial: 'ACME-NEW', model: 'StudioX30', site: 'site-a', customer: 'acme' };
    expect((await send(a, 'POST', '/api/devices', device)).status).toBe(201);
    await onB('/api/devices/ACME-NEW', 200, rep);
    const globex = { serial: 'GLOBEX-NEW', model: 'StudioX30', site: 'site-b', customer: 'globex' };
    expect((await send(a, 'POST', '/api/devices', globex)).status).toBe(201);
    await onB('/api/devices/GLOBEX-NEW', 200);
    expect(await status(b, '/api/devices/GLOBEX-NEW', rep)).toBe(404); // another customer's: not even there
    // B refuses what A made as a duplicate (its own view)
    expect((await send(b, 'POST', '/api/devices', device)).status).toBe(409);

    const contract = { number: 'C-NEW', customer: 'acme', start: '2026-01-01', termYears: 1, serials: ['ACME-NEW'] };
    expect((await send(a, 'POST', '/api/contracts', contract)).status).toBe(201);
    await onB('/api/contracts/C-NEW', 200, rep);
    expect((await send(b, 'POST', '/api/contracts', contract)).status).toBe(409);

    const window = { serial: 'ACME-NEW', from: '2026-01-01T00:00:00Z', to: '2099-01-01T00:00:00Z', reason: 'x' };
    const made = await send(a, 'POST', '/api/maintenance', window);
    expect(made.status).toBe(201);
    await waitFor(
      async () => {
        const list = (await (await b.api('/api/maintenance')).json()) as Array<{ id: number }>;
        return list.some((w) => w.id === made.body.id);
      },
      { timeoutMs: 1_000, what: "A's window in B's /api/maintenance" },
    );

    const csv =
      'customer,customer_name,contract,contract_start,term_years,extension_years,serial,model,site,name\n' +
      'initech,,C-INI,2026-01-01,1,0,INI-1,StudioX50,site-i,Lobby\n';
    expect((await send(a, 'POST', '/api/import', csv)).body).toEqual({ customers: 0, contracts: 1, devices: 1 });
    await onB('/api/devices/INI-1', 200);
    await onB('/api/contracts/C-INI', 200);
  });
});
