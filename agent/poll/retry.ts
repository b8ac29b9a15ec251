/**
 * Quick retries inside one poll interval: a failing channel is tried again `retries` times with a
 * doubling backoff before it is reported failed. Deterministic errors (auth, tls) are not retried.
 */

import { type DeviceError, isTransient, toDeviceError } from '../../protocols/clients/device-error.ts';
import type { Clock } from '../../protocols/clock.ts';
import type { Probe } from '../../protocols/health.ts';

export interface RetryPolicy {
  retries: number;
  backoffMs: number;
  clock: Clock;
}

export interface Attempted<T> {
  probe: Probe;
  value?: T;
  error?: DeviceError;
}

function pause(clock: Clock, ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    clock.setTimer(ms, resolve);
  });
}

export async function withRetries<T>(policy: RetryPolicy, what: string, run: () => Promise<T>): Promise<Attempted<T>> {
  let attempts = 0;
  let lastError: DeviceError | undefined;
  for (;;) {
    attempts++;
    const started = performance.now();
    try {
      const value = await run();
      return { probe: { ok: true, attempts, latencyMs: Math.round((performance.now() - started) * 10) / 10 }, value };
    } catch (err) {
      lastError = toDeviceError(err, what);
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      if (attempts > policy.retries || !isTransient(lastError)) {
        return { probe: { ok: false, attempts, latencyMs, error: lastError.toProbeError() }, error: lastError };
      }
      await pause(policy.clock, policy.backoffMs * 2 ** (attempts - 1));
    }
  }
}
