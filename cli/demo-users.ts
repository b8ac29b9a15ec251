/**
 * The demo's people: `admin`, `engineer` and one representative per demo customer (`<customer-id>-rep`), all
 * with one password (`HEZO_DEMO_PASSWORD`, else generated). Re-running on the same data folder resets their
 * passwords and roles.
 */
import type { PeopleModule } from '../hub/people/module.ts';
import { hashUserPassword } from '../hub/people/passwords.ts';
import type { Role } from '../hub/people/roles.ts';

export interface DemoLogin {
  name: string;
  role: Role;
  customer?: string;
}

export function demoLogins(customers: readonly string[]): DemoLogin[] {
  return [
    { name: 'admin', role: 'admin' },
    { name: 'engineer', role: 'engineer' },
    ...customers.map((customer) => ({ name: `${customer}-rep`, role: 'customer' as const, customer })),
  ];
}

export async function createDemoUsers(
  people: PeopleModule,
  customers: readonly string[],
  password: string,
): Promise<DemoLogin[]> {
  const logins = demoLogins(customers);
  const passwordHash = await hashUserPassword(password);
  for (const login of logins) {
    if ((await people.store.user(login.name)) === undefined) await people.store.addUser({ ...login, passwordHash });
    else
      await people.store.updateUser(login.name, { role: login.role, customer: login.customer ?? null, passwordHash });
  }
  return logins;
}
