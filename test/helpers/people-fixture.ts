/**
 * A real hub (every module) with two customers, their devices and contracts, one user per role and a personal
 * token for each: `acme-rep` represents acme; `globex` is the other customer whose things acme must never see.
 */
import type { PeopleModule } from '../../hub/people/module.ts';
import { hashUserPassword } from '../../hub/people/passwords.ts';
import type { Role } from '../../hub/people/roles.ts';
import type { Clock } from '../../protocols/clock.ts';
import { startTestHub, TEST_ADMIN_TOKEN, type TestHub } from './hub-fixture.ts';

export const PEOPLE_PASSWORD = 'correct-horse-battery';

export const PEOPLE_CONFIG = {
  customers: [
    { id: 'acme', name: 'Acme' },
    { id: 'globex', name: 'Globex' },
  ],
  devices: [
    { serial: 'ACME-0001', model: 'StudioX50', site: 'site-a', customer: 'acme' },
    { serial: 'ACME-0002', model: 'StudioX30', site: 'site-a', customer: 'acme' },
    { serial: 'GLOBEX-0001', model: 'StudioX70', site: 'site-b', customer: 'globex' },
  ],
  contracts: [
    { number: 'C-ACME', customer: 'acme', start: '2025-01-01', termYears: 3, serials: ['ACME-0001', 'ACME-0002'] },
    { number: 'C-GLOBEX', customer: 'globex', start: '2025-01-01', termYears: 3, serials: ['GLOBEX-0001'] },
  ],
};

export const USERS: ReadonlyArray<{ name: string; role: Role; customer?: string }> = [
  { name: 'alice-admin', role: 'admin' },
  { name: 'eric-engineer', role: 'engineer' },
  { name: 'acme-rep', role: 'customer', customer: 'acme' },
  { name: 'wally-wall', role: 'wall' },
];

export interface PeopleHub extends TestHub {
  people: PeopleModule;
  /** A personal token per role (of the users above). */
  tokens: Record<Role, string>;
  /** fetch with a JSON body. */
  json(
    path: string,
    init?: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
}

export async function startPeopleHub(
  options: { clock?: Clock; config?: Record<string, unknown> } = {},
): Promise<PeopleHub> {
  const hub = await startTestHub({
    modules: 'all',
    config: { ...PEOPLE_CONFIG, ...options.config },
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  const people = hub.hub.ctx.services.people as PeopleModule;
  // Low scrypt cost in tests (the format carries its cost; production uses the default).
  const passwordHash = await hashUserPassword(PEOPLE_PASSWORD, 10);
  const tokens = {} as Record<Role, string>;
  for (const user of USERS) {
    await people.store.addUser({ ...user, passwordHash });
    tokens[user.role] = (await people.store.createToken(user.name, 'test')).token;
  }
  const json: PeopleHub['json'] = async (path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await hub.api(path, {
      method: init.method ?? 'GET',
      headers,
      token: init.token === undefined ? TEST_ADMIN_TOKEN : init.token,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body, headers: res.headers };
  };
  return Object.assign(hub, { people, tokens, json });
}
