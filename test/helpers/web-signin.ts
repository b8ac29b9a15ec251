/**
 * The one sign-in step of the desk/portal browser tests. Until the hub has sessions (issue 14), a page opens with
 * the admin token in the URL (kept in sessionStorage, as the NOC wall does) and, for the portal, `?customer=`.
 * When sessions land, replace the body with: goto /signin, fill user + password, submit, wait for the page.
 */
import type { Page } from 'playwright-core';

export type SignInAs = { role: 'engineer' } | { role: 'customer'; customer: string };

export async function signIn(page: Page, baseUrl: string, token: string, as: SignInAs): Promise<void> {
  const url =
    as.role === 'customer'
      ? `${baseUrl}/portal/?token=${encodeURIComponent(token)}&customer=${encodeURIComponent(as.customer)}`
      : `${baseUrl}/desk/?token=${encodeURIComponent(token)}`;
  await page.goto(url);
  await page.waitForSelector('body[data-stream="live"]', { timeout: 20_000 });
}
