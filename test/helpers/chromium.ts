/** Headless Debian chromium through playwright-core (no browser download), for NOC page tests. */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.HEZO_CHROMIUM ?? '/usr/bin/chromium';
export const TEST_ARTIFACTS_DIR = resolve(import.meta.dirname, '../../test-artifacts');

export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
  return { browser, close: () => browser.close() };
}

/** Absolute path of a file under test-artifacts/ (gitignored), creating the folder. */
export function artifactPath(name: string): string {
  mkdirSync(TEST_ARTIFACTS_DIR, { recursive: true });
  return resolve(TEST_ARTIFACTS_DIR, name);
}
