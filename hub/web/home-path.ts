/** Each role's own page: where `/` and the sign-in page send a signed-in person (mirrors dashboards/web/api-client.js). */
import type { Role } from '../people/roles.ts';

const HOME: Record<Role, string> = { admin: '/desk/', engineer: '/desk/', customer: '/portal/', wall: '/noc/' };

export function homePathOf(role: Role | undefined): string {
  return role === undefined ? '/signin' : HOME[role];
}
