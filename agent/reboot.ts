/**
 * The `reboot` command (issue 18, safe remote reboot): reboot a device through the channel that still answers -
 * REST `POST /rest/system/reboot {"action":"reboot"}` (poly-devices.md, [CODE] S1-S3, S6), else the SSH CLI
 * `reboot now` (§3). The hub decides whether a reboot is allowed (policy, calls, rate); the agent only says which
 * channel took it and why the others did not, and drops the REST session the reboot invalidates (the new certificate
 * is accepted by the identity trust once the reboot is seen: identity-trust.ts).
 */
import type { Logger } from 'pino';
import { runSshCommands } from '../protocols/clients/ssh.ts';
import type { DevicePoller } from './device-poller.ts';

export interface RebootResult {
  channel: 'rest' | 'ssh';
  /** What each channel tried answered, in order. */
  attempts: string[];
  reason: string;
}

export class RebootFailed extends Error {
  readonly attempts: string[];
  constructor(attempts: string[]) {
    super(`no channel took the reboot: ${attempts.join('; ')}`);
    this.name = 'RebootFailed';
    this.attempts = attempts;
  }
}

export async function rebootDevice(
  poller: DevicePoller,
  reason: string,
  deps: { logger: Logger; timeoutMs: number },
): Promise<RebootResult> {
  const device = poller.device;
  const attempts: string[] = [];
  const rest = poller.restClient();
  if (rest) {
    try {
      const res = await rest.call('POST', '/rest/system/reboot', { action: 'reboot' });
      if (res.status >= 200 && res.status < 300) {
        attempts.push(`rest: POST /rest/system/reboot answered HTTP ${res.status}`);
        rest.reset();
        deps.logger.warn({ serial: device.serial, channel: 'rest', reason }, 'device reboot requested');
        return { channel: 'rest', attempts, reason };
      }
      attempts.push(`rest: POST /rest/system/reboot answered HTTP ${res.status}`);
    } catch (err) {
      attempts.push(`rest: ${(err as Error).message}`.slice(0, 300));
    }
  } else {
    attempts.push('rest: not configured');
  }
  const ssh = device.ssh;
  if (ssh && device.channels.includes('ssh')) {
    try {
      const res = await runSshCommands(
        {
          host: device.address,
          port: ssh.port,
          username: ssh.username,
          password: ssh.password,
          privateKeyPath: ssh.privateKeyPath,
          timeoutMs: deps.timeoutMs,
        },
        ['reboot now'],
      );
      const out = (res.results[0]?.output ?? '').trim().slice(0, 200);
      if (/error/i.test(out)) {
        attempts.push(`ssh: reboot now answered "${out}"`);
      } else {
        attempts.push(`ssh: reboot now answered "${out}"`);
        rest?.reset();
        deps.logger.warn({ serial: device.serial, channel: 'ssh', reason }, 'device reboot requested');
        return { channel: 'ssh', attempts, reason };
      }
    } catch (err) {
      attempts.push(`ssh: ${(err as Error).message}`.slice(0, 300));
    }
  } else {
    attempts.push('ssh: not configured');
  }
  throw new RebootFailed(attempts);
}
