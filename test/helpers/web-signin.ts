/**
 * The one sign-in step of the desk/portal browser tests, for real: a user is created on the hub
 * (`POST /api/users` with the admin token: the only place the token is used), then the page fills the /signin
 * form with its name and password and waits for its own page, live. No token in any URL: the pages run on the
 * session cookie and send `x-csrf-token` on writes.
 */
import type { Page } from 'playwright-core';

export type SignInAs = { role: 'engineer' } | { role: 'customer'; customer: string };
export interface WebUser {
  name: string;
  password: string;
  role: 'engineer' | 'customer';
  customer?: string;
}

const PASSWORD = 'browser-test-password-1';

/** Creates the user on the hub (a customer user is `<customer>-rep`, an engineer `engineer-<n>`). */
export async function createWebUser(
  baseUrl: string,
  adminToken: string,
  as: SignInAs,
  name?: string,
): Promise<WebUser> {
  const user: WebUser =
    as.role === 'customer'
      ? { name: name ?? `${as.customer}-rep`, password: PASSWORD, role: 'customer', customer: as.customer }
      : { name: name ?? 'desk-engineer', password: PASSWORD, role: 'engineer' };
  const res = await fetch(`${baseUrl}/api/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(user),
  });
  // 409: the user exists already (a second sign-in in the same hub): its password is ours.
  if (res.status !== 201 && res.status !== 409) {
    throw new Error(`POST /api/users ${user.name}: HTTP ${res.status} ${await res.text()}`);
  }
  return user;
}

/** Fills the /signin form and waits for the user's page to be live. */
export async function signInForm(page: Page, baseUrl: string, user: Pick<WebUser, 'name' | 'password' | 'role'>) {
  await page.goto(`${baseUrl}/signin`);
  await page.getByLabel('User name').fill(user.name);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${baseUrl}${user.role === 'customer' ? '/portal/' : '/desk/'}`);
  await page.waitForSelector('body[data-stream="live"]', { timeout: 20_000 });
}

/** Creates a user of that role on the hub and signs the page in with it through the form. */
export async function signIn(page: Page, baseUrl: string, adminToken: string, as: SignInAs): Promise<WebUser> {
  const user = await createWebUser(baseUrl, adminToken, as);
  await signInForm(page, baseUrl, user);
  return user;
}

/** The pages' API client (dashboards/web/api-client.js), for tests that call the hub from a page's context. */
declare global {
  interface Window {
    HezoApi: { get(path: string): Promise<unknown>; post(path: string, body: unknown): Promise<unknown> };
  }
}
