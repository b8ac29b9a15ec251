/**
 * `diagnose`: service tests against one device right now, each timed, each with its error kind:
 * TCP connect, HTTPS handshake (certificate fingerprint and whether it is the trusted one), REST login
 * (a separate, short-lived session, logged out again), SNMP GET sysUpTime, SSH `status` (if configured).
 */
import { DeviceError, toDeviceError } from '../protocols/clients/device-error.ts';
import { PolyRestClient, tlsHandshake } from '../protocols/clients/poly-rest.ts';
import { runSshCommands } from '../protocols/clients/ssh.ts';
import type { ProbeError } from '../protocols/health.ts';
import type { CertTrustStore } from './cert-trust.ts';
import type { DevicePoller } from './device-poller.ts';
import { tcpConnect } from './poll/tcp.ts';

export interface ServiceTest {
  name: 'tcp-connect' | 'https-handshake' | 'rest-login' | 'snmp-sysuptime' | 'ssh-status';
  ok: boolean;
  skipped?: string;
  latencyMs?: number;
  detail?: Record<string, unknown>;
  error?: ProbeError;
}

async function timed(
  name: ServiceTest['name'],
  run: () => Promise<Record<string, unknown> | undefined>,
): Promise<ServiceTest> {
  const started = performance.now();
  try {
    const detail = await run();
    const test: ServiceTest = { name, ok: true, latencyMs: Math.round(performance.now() - started) };
    if (detail) test.detail = detail;
    return test;
  } catch (err) {
    return {
      name,
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      error: toDeviceError(err, name).toProbeError(),
    };
  }
}

export async function runServiceTests(
  poller: DevicePoller,
  certs: CertTrustStore,
  timeoutMs: number,
): Promise<ServiceTest[]> {
  const { device } = poller;
  const tests: ServiceTest[] = [];
  const port = poller.tcpPort();
  tests.push(
    port === undefined
      ? { name: 'tcp-connect', ok: false, skipped: 'no TCP service configured' }
      : await timed('tcp-connect', async () => ({
          port,
          connectMs: Math.round(await tcpConnect(device.address, port, timeoutMs)),
        })),
  );
  const rest = device.channels.includes('rest') ? device.rest : undefined;
  if (rest) {
    tests.push(
      await timed('https-handshake', async () => {
        const hs = await tlsHandshake(device.address, rest.port, timeoutMs);
        return {
          fingerprint256: hs.fingerprint256,
          trust: certs.verdict(device, hs.fingerprint256),
          trustedFingerprint: certs.fingerprintOf(device.serial) ?? null,
          subject: hs.subject ?? null,
          validTo: hs.validTo ?? null,
        };
      }),
    );
    tests.push(
      await timed('rest-login', async () => {
        const client = new PolyRestClient({
          host: device.address,
          port: rest.port,
          username: rest.username,
          password: rest.password,
          timeoutMs,
          // never learn or re-trust from a diagnostic: only the poller does that
          checkCertificate: (fp) => {
            const verdict = certs.verdict(device, fp);
            return verdict === 'trusted' || verdict === 'insecure' || verdict === 'new'
              ? undefined
              : new DeviceError('tls', `tls: certificate ${fp} is not the trusted one (${verdict})`);
          },
        });
        try {
          await client.login();
          return { loggedIn: true };
        } finally {
          await client.logout();
        }
      }),
    );
  } else {
    tests.push({ name: 'https-handshake', ok: false, skipped: 'REST not configured' });
    tests.push({ name: 'rest-login', ok: false, skipped: 'REST not configured' });
  }
  const snmp = poller.snmpClient();
  tests.push(
    snmp
      ? await timed('snmp-sysuptime', async () => {
          const [vb] = await snmp.get(['1.3.6.1.2.1.1.3.0']);
          return { oid: '1.3.6.1.2.1.1.3.0', type: vb?.type ?? null, value: vb?.value ?? null };
        })
      : { name: 'snmp-sysuptime', ok: false, skipped: 'SNMP not configured' },
  );
  // the host key is checked (trust on first use, pinned) before the password is sent
  const ssh = poller.sshTarget(timeoutMs);
  tests.push(
    ssh
      ? await timed('ssh-status', async () => {
          const res = await runSshCommands(ssh, ['status']);
          const r = res.results[0];
          return {
            hostKeySha256: res.hostKeySha256 ?? null,
            exitCode: r?.exitCode ?? null,
            output: (r?.output ?? '').slice(0, 4000),
          };
        })
      : { name: 'ssh-status', ok: false, skipped: 'SSH not configured' },
  );
  return tests;
}
