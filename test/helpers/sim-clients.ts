/**
 * Clients for the simulator's protocols used by tests: REST login/get (cookie + XSRF), SNMP v2c/v3 get (net-snmp,
 * short timeout, no retries), SSH exec (ssh2 Client), and a fleet starter whose close() is safe to call twice.
 */
import snmp from 'net-snmp';
import ssh2 from 'ssh2';
import {
  createFleet,
  type Fleet,
  type FleetOptions,
  type SimDeviceInfo,
  type SimNetworkDeviceInfo,
} from '../../simulator/fleet.ts';
import { type HttpsReply, httpsRequest } from './https-json.ts';

export async function startSimFleet(options: FleetOptions): Promise<{ fleet: Fleet; close: () => Promise<void> }> {
  const fleet = createFleet(options);
  await fleet.start();
  return { fleet, close: () => fleet.stop() };
}

export function networked(devices: SimDeviceInfo[]): SimNetworkDeviceInfo[] {
  return devices.filter((d): d is SimNetworkDeviceInfo => d.usb === undefined);
}

export interface RestSession {
  sid: string;
  xsrf?: string;
}

export async function restLogin(
  d: SimNetworkDeviceInfo,
  options: { password?: string; path?: string } = {},
): Promise<{ reply: HttpsReply; session?: RestSession }> {
  const reply = await httpsRequest(`${d.restUrl}${options.path ?? '/rest/current/session'}`, {
    json: { user: d.username, password: options.password ?? d.password },
  });
  const sid = reply.setCookies.get('session_id');
  if (reply.status !== 200 || sid === undefined) return { reply };
  const xsrf = reply.setCookies.get('XSRF-TOKEN');
  return { reply, session: xsrf === undefined ? { sid } : { sid, xsrf } };
}

export function restCall(
  d: SimNetworkDeviceInfo,
  session: RestSession | undefined,
  path: string,
  options: { method?: string; json?: unknown; withXsrf?: boolean } = {},
): Promise<HttpsReply> {
  const headers: Record<string, string> = {};
  if (session) {
    headers.cookie = `session_id=${session.sid}${session.xsrf ? `; XSRF-TOKEN=${session.xsrf}` : ''}`;
    if (session.xsrf && options.withXsrf !== false) headers['x-xsrf-token'] = session.xsrf;
  }
  return httpsRequest(`${d.restUrl}${path}`, {
    ...(options.method ? { method: options.method } : {}),
    ...(options.json !== undefined ? { json: options.json } : {}),
    headers,
  });
}

/** Log in and GET one path; rejects when the device does not answer. */
export async function restGetJson(d: SimNetworkDeviceInfo, path: string): Promise<unknown> {
  const { reply, session } = await restLogin(d);
  if (!session) throw new Error(`login failed: ${reply.status} ${reply.text.slice(0, 80)}`);
  const got = await restCall(d, session, path);
  await restCall(d, session, '/rest/session', { method: 'DELETE' });
  if (got.status !== 200) throw new Error(`GET ${path}: ${got.status}`);
  return got.json;
}

export type SnmpValues = Map<string, unknown>;

function toValues(varbinds: { oid: string; value: unknown; type: number }[]): SnmpValues {
  const out: SnmpValues = new Map();
  for (const vb of varbinds) out.set(vb.oid, Buffer.isBuffer(vb.value) ? vb.value.toString('utf8') : vb.value);
  return out;
}

function getWith(session: any, oids: string[]): Promise<SnmpValues> {
  return new Promise((resolve, reject) => {
    session.get(oids, (err: Error | null, varbinds: { oid: string; value: unknown; type: number }[]) => {
      session.close();
      if (err) reject(err);
      else resolve(toValues(varbinds));
    });
  });
}

export function snmpGet(d: SimNetworkDeviceInfo, oids: string[], timeoutMs = 800): Promise<SnmpValues> {
  const session = snmp.createSession(d.address, d.snmpCommunity, {
    port: d.snmpPort,
    version: snmp.Version2c,
    timeout: timeoutMs,
    retries: 0,
  });
  session.on('error', () => {});
  return getWith(session, oids);
}

export function snmpV3Get(d: SimNetworkDeviceInfo, oids: string[], timeoutMs = 1500): Promise<SnmpValues> {
  const user = {
    name: d.snmpV3.user,
    level: snmp.SecurityLevel.authPriv,
    authProtocol: snmp.AuthProtocols.sha,
    authKey: d.snmpV3.authKey,
    privProtocol: snmp.PrivProtocols.aes,
    privKey: d.snmpV3.privKey,
  };
  const session = snmp.createV3Session(d.address, user, { port: d.snmpPort, timeout: timeoutMs, retries: 0 });
  session.on('error', () => {});
  return getWith(session, oids);
}

/** Run one CLI command over SSH (exec channel); rejects on auth failure, connection error or timeout. */
export function sshExec(
  d: SimNetworkDeviceInfo,
  command: string,
  options: { password?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const timer = setTimeout(() => {
      client.end();
      reject(new Error('ssh timeout'));
    }, options.timeoutMs ?? 3000);
    const finish = (err: Error | null, out?: string): void => {
      clearTimeout(timer);
      client.end();
      if (err) reject(err);
      else resolve(out ?? '');
    };
    client.on('error', (err) => finish(err));
    client.on('ready', () => {
      client.exec(command, (err, stream) => {
        if (err) return finish(err);
        let out = '';
        stream.on('data', (c: Buffer) => {
          out += c.toString('utf8');
        });
        stream.stderr.on('data', () => {});
        stream.on('close', () => finish(null, out));
      });
    });
    client.connect({
      host: d.address,
      port: d.sshPort,
      username: d.username,
      password: options.password ?? d.password,
      readyTimeout: options.timeoutMs ?? 3000,
    });
  });
}

/** Settle a promise into ok/error, for "does this protocol answer?" checks. */
export async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    return { ok: false, error: err as Error };
  }
}
