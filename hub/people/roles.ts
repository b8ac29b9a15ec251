/**
 * Roles, principals and route access levels: the rules of who may do what, as pure functions.
 * - admin: everything, user management; engineer: all customers, works tickets;
 * - customer: the authorised representative of exactly one customer (its devices, tickets, evidence, stream);
 * - wall: read-only, all customers or a list.
 */
export const ROLES = ['admin', 'engineer', 'customer', 'wall'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Each route declares one (`config: { access }`); a route without one is admin-only (deny by default) and fails
 * the route-matrix test.
 * - `public`: no credentials (liveness, sign-in, the pages' static files);
 * - `read`: every signed-in role, answers scoped to the caller's customers (GET only);
 * - `internal`: staff reads (admin, engineer, wall), never a customer;
 * - `customer`: writes a customer may do on its own things (raise, comment, agree a date), and staff;
 * - `engineer`: engineers and admins; `admin`: admins only.
 */
export const ACCESS_LEVELS = ['public', 'read', 'internal', 'customer', 'engineer', 'admin'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

/** Who is calling. `customers` is what it may see: every customer, or a list. */
export interface Principal {
  /** `bootstrap` = config `api.token`; `wall-token` = config `api.readTokens[i]`; `token` = personal; `session` = cookie. */
  kind: 'bootstrap' | 'wall-token' | 'token' | 'session';
  /** Stable id for the audit trail: `user:<name>`, `token:<id>`, `config:api.token`, `config:api.readTokens[0]`. */
  id: string;
  /** The user's name (or the config token's label): what ticket history shows. */
  name: string;
  role: Role;
  customer?: string;
  customers: 'all' | readonly string[];
  /** Set for cookie sessions: writes must echo it as `x-csrf-token`. */
  csrfToken?: string;
}

const ALLOWED: Record<Exclude<Access, 'public'>, readonly Role[]> = {
  read: ['admin', 'engineer', 'customer', 'wall'],
  internal: ['admin', 'engineer', 'wall'],
  customer: ['admin', 'engineer', 'customer'],
  engineer: ['admin', 'engineer'],
  admin: ['admin'],
};

export function isReadMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** Whether `role` may call a route of `access` with `method` (wall is read-only everywhere). */
export function mayCall(access: Access, role: Role, method: string): boolean {
  if (access === 'public') return true;
  if (role === 'wall' && !isReadMethod(method)) return false;
  return ALLOWED[access].includes(role);
}

/** Whether the principal may see things of `customer` (undefined/null = nobody's: staff only). */
export function maySee(principal: Pick<Principal, 'customers'>, customer: string | null | undefined): boolean {
  if (principal.customers === 'all') return true;
  return typeof customer === 'string' && principal.customers.includes(customer);
}

export function isScoped(principal: Pick<Principal, 'customers'>): boolean {
  return principal.customers !== 'all';
}
