/**
 * One small SNMP interface over two libraries: v2c with `snmp-native` (one shared UDP socket for every
 * device, explicit single-shot timeouts instead of its 4 x 5 s default), v3 (USM authPriv) with `net-snmp`.
 * Values come back with their ASN.1 type tag so callers can reject wrong types instead of crashing.
 */
// @ts-expect-error snmp-native ships no types; the small surface used here is typed below.
import snmpNative from 'snmp-native';
import { DeviceError, toDeviceError } from './device-error.ts';
import { type NetSnmpModule, netSnmp } from './net-snmp-lazy.ts';

/** ASN.1 / SMI type tags (identical in both libraries). */
export const SnmpType = {
  Integer: 2,
  OctetString: 4,
  Null: 5,
  ObjectIdentifier: 6,
  IpAddress: 64,
  Counter: 65,
  Gauge: 66,
  TimeTicks: 67,
  Opaque: 68,
  Counter64: 70,
  NoSuchObject: 128,
  NoSuchInstance: 129,
  EndOfMibView: 130,
} as const;

export interface SnmpVarbind {
  oid: string;
  type: number;
  /** number for integer kinds, string for OCTET STRING / OID / IpAddress, null for exceptions. */
  value: number | string | null;
}

export interface SnmpClient {
  /** GET the given OIDs (dotted, no leading dot). Missing objects come back typed NoSuchObject/NoSuchInstance. */
  get(oids: readonly string[]): Promise<SnmpVarbind[]>;
  /** GETNEXT-walk a subtree (bounded). */
  walk(oid: string, maxRows?: number): Promise<SnmpVarbind[]>;
  close(): void;
}

export interface SnmpTarget {
  host: string;
  port: number;
  timeoutMs: number;
}

export interface SnmpV3User {
  user: string;
  authProtocol: 'sha' | 'md5' | 'sha256';
  authKey: string;
  privProtocol: 'aes' | 'des';
  privKey: string;
}

export function typeName(type: number): string {
  for (const [name, tag] of Object.entries(SnmpType)) if (tag === type) return name;
  return `type ${type}`;
}

export function isException(vb: SnmpVarbind): boolean {
  return vb.type === SnmpType.NoSuchObject || vb.type === SnmpType.NoSuchInstance || vb.type === SnmpType.EndOfMibView;
}

function normaliseValue(type: number, value: unknown): SnmpVarbind['value'] {
  if (type >= 128 || type === SnmpType.Null) return null;
  if (Buffer.isBuffer(value)) {
    if (type === SnmpType.Counter64) return Number(value.readBigUInt64BE(Math.max(0, value.length - 8)));
    return value.toString('utf8');
  }
  if (Array.isArray(value)) return value.join('.');
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number(value);
  return value === undefined || value === null ? null : String(value);
}

function oidText(oid: unknown): string {
  if (Array.isArray(oid)) return oid.join('.');
  return String(oid).replace(/^\./, '');
}

// ---------- v2c: snmp-native ----------

interface NativeVarbind {
  oid: number[];
  type: number;
  value: unknown;
  valueRaw?: Buffer;
}
type NativeCallback = (err: Error | null, varbinds?: NativeVarbind[]) => void;
interface NativeSession {
  getAll(options: Record<string, unknown>, cb: NativeCallback): void;
  getSubtree(options: Record<string, unknown>, cb: NativeCallback): void;
  on(event: 'error', fn: (err: Error) => void): void;
  close(): void;
}

/** One UDP socket shared by every v2c device of the agent (what snmp-native is built for). */
export class SharedV2cSocket {
  private session: NativeSession | undefined;
  parseErrors = 0;

  open(): NativeSession {
    if (!this.session) {
      const session = new snmpNative.Session({}) as NativeSession;
      // A malformed datagram is emitted here (the pending request then times out): count, never crash.
      session.on('error', () => {
        this.parseErrors++;
      });
      this.session = session;
    }
    return this.session;
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}

function nativeVarbind(vb: NativeVarbind): SnmpVarbind {
  const raw = vb.type === SnmpType.OctetString && vb.valueRaw ? vb.valueRaw : vb.value;
  return { oid: oidText(vb.oid), type: vb.type, value: normaliseValue(vb.type, raw) };
}

function nativeError(err: Error, where: string): DeviceError {
  if (err.message === 'Timeout') return new DeviceError('timeout', `${where}: no SNMP answer (timeout)`);
  if (err.message === 'Cancelled') return new DeviceError('snmp', `${where}: cancelled`);
  if ((err as NodeJS.ErrnoException).code) return toDeviceError(err, where);
  return new DeviceError('snmp', `${where}: ${err.message}`);
}

export function createV2cClient(shared: SharedV2cSocket, target: SnmpTarget, community: string): SnmpClient {
  const base = { host: target.host, port: target.port, community, timeouts: [target.timeoutMs] };
  return {
    get(oids) {
      return new Promise((resolve, reject) => {
        shared
          .open()
          .getAll(
            { ...base, oids: oids.map((o) => `.${o}`), abortOnError: true, combinedTimeout: target.timeoutMs * 2 },
            (err, vbs) => {
              if (err) reject(nativeError(err, 'snmp get'));
              else resolve((vbs ?? []).map(nativeVarbind));
            },
          );
      });
    },
    walk(oid, maxRows = 256) {
      return new Promise((resolve, reject) => {
        shared.open().getSubtree({ ...base, oid: `.${oid}`, combinedTimeout: target.timeoutMs * 3 }, (err, vbs) => {
          if (err) reject(nativeError(err, 'snmp walk'));
          else resolve((vbs ?? []).slice(0, maxRows).map(nativeVarbind));
        });
      });
    },
    close() {
      // the shared socket is closed by its owner
    },
  };
}

// ---------- v3: net-snmp ----------

interface NetSnmpVarbind {
  oid: string;
  type: number;
  value: unknown;
}

function v3Error(err: Error, where: string): DeviceError {
  const name = err.name;
  if (name === 'RequestTimedOutError') return new DeviceError('timeout', `${where}: no SNMP answer (timeout)`);
  const text = err.message;
  if (/auth|digest|unknown user|username|decrypt|usmStats/i.test(text)) {
    return new DeviceError('auth', `${where}: SNMPv3 security error: ${text}`.slice(0, 480));
  }
  if ((err as NodeJS.ErrnoException).code) return toDeviceError(err, where);
  return new DeviceError('snmp', `${where}: ${text}`.slice(0, 480));
}

export function createV3Client(target: SnmpTarget, user: SnmpV3User): SnmpClient {
  let session: ReturnType<NetSnmpModule['createV3Session']> | undefined;
  const open = () => {
    if (!session) {
      const snmp = netSnmp();
      const s = snmp.createV3Session(
        target.host,
        {
          name: user.user,
          level: snmp.SecurityLevel.authPriv,
          authProtocol:
            user.authProtocol === 'md5'
              ? snmp.AuthProtocols.md5
              : user.authProtocol === 'sha256'
                ? snmp.AuthProtocols.sha256
                : snmp.AuthProtocols.sha,
          authKey: user.authKey,
          privProtocol: user.privProtocol === 'des' ? snmp.PrivProtocols.des : snmp.PrivProtocols.aes,
          privKey: user.privKey,
        },
        { port: target.port, retries: 0, timeout: target.timeoutMs, version: snmp.Version3 },
      );
      s.on('error', () => {
        session = undefined;
      });
      session = s;
    }
    return session;
  };
  const convert = (vb: NetSnmpVarbind): SnmpVarbind => ({
    oid: vb.oid,
    type: vb.type,
    value: normaliseValue(vb.type, vb.value),
  });
  return {
    get(oids) {
      return new Promise((resolve, reject) => {
        try {
          open().get([...oids], (err, vbs) => {
            if (err) reject(v3Error(err, 'snmp get'));
            else resolve((vbs ?? []).map((vb) => convert(vb as NetSnmpVarbind)));
          });
        } catch (err) {
          reject(v3Error(err as Error, 'snmp get'));
        }
      });
    },
    walk(oid, maxRows = 256) {
      return new Promise((resolve, reject) => {
        const rows: SnmpVarbind[] = [];
        try {
          open().subtree(
            oid,
            20,
            (vbs) => {
              for (const vb of vbs) if (rows.length < maxRows) rows.push(convert(vb as NetSnmpVarbind));
            },
            (err: Error | null) => {
              if (err) reject(v3Error(err, 'snmp walk'));
              else resolve(rows);
            },
          );
        } catch (err) {
          reject(v3Error(err as Error, 'snmp walk'));
        }
      });
    },
    close() {
      try {
        session?.close();
      } catch {
        // already closed
      }
      session = undefined;
    },
  };
}
