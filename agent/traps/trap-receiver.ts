/**
 * The agent's SNMP notification receiver (net-snmp): v1/v2c traps with the configured devices' communities,
 * v2c informs, v3 traps/informs with the devices' USM users (the same credentials as polling). Each accepted
 * notification is matched to its device (trap-source.ts) and handed on with its meaning (trap-catalogue.ts);
 * notifications from unknown senders, with wrong credentials or malformed are counted and dropped.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { AgentDevice } from '../../protocols/agent-config.ts';
import { type NetSnmpModule, netSnmp } from '../../protocols/clients/net-snmp-lazy.ts';
import { describeTrap, SNMP_TRAP_OID, SYS_UPTIME, type TrapMeaning, v1TrapOid } from './trap-catalogue.ts';
import { IDENTITY_SERIAL_OID, matchTrapSource, type TrapCandidate } from './trap-source.ts';

export interface TrapListenConfig {
  address: string;
  /** 0: any free port (tests); read `port` after `start()`. */
  port: number;
}

export interface ReceivedTrap {
  serial: string;
  trapOid: string;
  meaning: TrapMeaning | undefined;
  from: string;
  /** The other varbinds as `oid=value` text (sysUpTime and snmpTrapOID left out). */
  varbinds: string[];
}

export interface TrapCounters {
  received: number;
  accepted: number;
  unknownSource: number;
  badCredentials: number;
  malformed: number;
}

interface NotificationPdu {
  type: number;
  varbinds?: { oid: string; type: number; value: unknown }[];
  community?: string;
  user?: string;
  enterprise?: string;
  generic?: number;
  specific?: number;
}

const MAX_VARBIND_TEXT = 120;

function varbindText(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'bigint') return value.toString();
  return String(value);
}

const authProtocol = (p: 'sha' | 'md5' | 'sha256') =>
  p === 'md5'
    ? netSnmp().AuthProtocols.md5
    : p === 'sha256'
      ? netSnmp().AuthProtocols.sha256
      : netSnmp().AuthProtocols.sha;

async function resolveAll(address: string): Promise<string[]> {
  if (isIP(address)) return [address];
  try {
    return [address, ...(await lookup(address, { all: true })).map((a) => a.address)];
  } catch {
    return [address];
  }
}

export class TrapReceiver {
  readonly counters: TrapCounters = { received: 0, accepted: 0, unknownSource: 0, badCredentials: 0, malformed: 0 };
  private receiver: ReturnType<NetSnmpModule['createReceiver']> | undefined;
  private socket: dgram.Socket | undefined;
  private candidates: TrapCandidate[] = [];
  private boundPort = 0;
  /** Senders already warned about (one log line each, then only counters). */
  private readonly warned = new Set<string>();

  constructor(
    private readonly listen: TrapListenConfig,
    private readonly devices: readonly AgentDevice[],
    private readonly deps: { logger: Logger; onTrap: (trap: ReceivedTrap) => void },
  ) {}

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<number> {
    const networked = this.devices.filter((d) => d.snmp !== undefined || d.channels.length > 0);
    this.candidates = await Promise.all(
      networked.map(async (d) => ({
        serial: d.serial,
        addresses: await resolveAll(d.address),
        community: d.snmp?.community,
        v3User: d.snmp?.v3?.user,
      })),
    );
    const wanted = this.listen.port;
    let socket: dgram.Socket | undefined;
    const dgramModule = {
      createSocket(type: 'udp4' | 'udp6') {
        const s = dgram.createSocket(type);
        socket = s;
        const bind = s.bind.bind(s) as (p: number, a?: string) => dgram.Socket;
        // net-snmp turns port 0 into 162: bind to the configured port here.
        (s as unknown as { bind: (p: number, a?: string) => dgram.Socket }).bind = (_p, a) => bind(wanted, a);
        return s;
      },
    };
    const receiver = netSnmp().createReceiver(
      {
        port: wanted || 162,
        address: this.listen.address,
        transport: isIP(this.listen.address) === 6 ? 'udp6' : 'udp4',
        includeAuthentication: true,
        dgramModule,
      },
      (err: Error | null, notification: { pdu: NotificationPdu; rinfo: dgram.RemoteInfo } | null) => {
        if (err) this.onError(err);
        else if (notification) this.onNotification(notification.pdu, notification.rinfo);
      },
    );
    this.receiver = receiver;
    const auth = receiver.getAuthorizer();
    const users = new Map<string, string>();
    for (const d of this.devices) {
      if (d.snmp?.community && !auth.getCommunities().includes(d.snmp.community)) auth.addCommunity(d.snmp.community);
      const v3 = d.snmp?.v3;
      if (!v3) continue;
      const first = users.get(v3.user);
      if (first !== undefined) {
        if (first !== d.serial) {
          this.deps.logger.warn(
            { serial: d.serial, user: v3.user, alsoOn: first },
            'SNMPv3 trap user configured on several devices: the first device keys are used for traps',
          );
        }
        continue;
      }
      users.set(v3.user, d.serial);
      auth.addUser({
        name: v3.user,
        level: netSnmp().SecurityLevel.authPriv,
        authProtocol: authProtocol(v3.authProtocol),
        authKey: v3.authKey,
        privProtocol: v3.privProtocol === 'des' ? netSnmp().PrivProtocols.des : netSnmp().PrivProtocols.aes,
        privKey: v3.privKey,
      });
    }
    const s = socket as dgram.Socket | undefined;
    if (!s) throw new Error('trap receiver: no socket was created');
    this.socket = s;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        s.off('listening', onListening);
        reject(new Error(`traps: cannot listen on udp ${this.listen.address}:${wanted}: ${err.message}`));
      };
      const onListening = () => {
        s.off('error', onError);
        resolve();
      };
      s.once('error', onError);
      s.once('listening', onListening);
    });
    this.boundPort = s.address().port;
    this.deps.logger.info({ address: this.listen.address, port: this.boundPort }, 'trap receiver listening');
    return this.boundPort;
  }

  private warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.has(key)) return;
    if (this.warned.size > 1000) this.warned.clear();
    this.warned.add(key);
    this.deps.logger.warn(fields, message);
  }

  private onError(err: Error & { rinfo?: dgram.RemoteInfo }): void {
    if (!err.rinfo) {
      this.deps.logger.warn({ err: { message: err.message } }, 'trap receiver socket error');
      return;
    }
    this.counters.received++;
    const from = err.rinfo.address;
    if (err.name === 'RequestFailedError' || err.name === 'ResponseInvalidError') {
      this.counters.badCredentials++;
      // the error text can hold digests, never secrets; still log only the sender and the kind
      this.warnOnce(
        `cred:${from}`,
        { from, kind: err.name },
        'trap dropped: unknown community or SNMPv3 user, or bad keys',
      );
    } else {
      this.counters.malformed++;
      this.warnOnce(`bad:${from}`, { from, error: err.message.slice(0, 200) }, 'trap dropped: malformed notification');
    }
  }

  private onNotification(pdu: NotificationPdu, rinfo: dgram.RemoteInfo): void {
    this.counters.received++;
    const varbinds = pdu.varbinds ?? [];
    let trapOid: string | undefined;
    if (pdu.type === netSnmp().PduType.Trap) {
      trapOid = v1TrapOid(String(pdu.enterprise ?? ''), pdu.generic ?? -1, pdu.specific ?? 0);
    } else {
      const vb = varbinds.find((v) => v.oid === SNMP_TRAP_OID);
      if (vb && vb.type === netSnmp().ObjectType.OID) trapOid = String(vb.value);
    }
    if (!trapOid) {
      this.counters.malformed++;
      this.warnOnce(`bad:${rinfo.address}`, { from: rinfo.address }, 'trap dropped: no snmpTrapOID.0 varbind');
      return;
    }
    const serialVb = varbinds.find((v) => v.oid === IDENTITY_SERIAL_OID);
    const match = matchTrapSource(this.candidates, {
      address: rinfo.address,
      ...(pdu.user !== undefined ? { v3User: pdu.user } : { community: pdu.community }),
      serial: serialVb === undefined ? undefined : varbindText(serialVb.value),
    });
    if (!match.ok) {
      if (match.reason === 'unknown-source') this.counters.unknownSource++;
      else this.counters.badCredentials++;
      this.warnOnce(
        `${match.reason}:${rinfo.address}`,
        { from: rinfo.address, trapOid, reason: match.reason },
        'trap dropped: not from a configured device',
      );
      return;
    }
    this.counters.accepted++;
    const rest = varbinds
      .filter((v) => v.oid !== SNMP_TRAP_OID && v.oid !== SYS_UPTIME)
      .slice(0, 12)
      .map((v) => `${v.oid}=${varbindText(v.value).slice(0, MAX_VARBIND_TEXT)}`);
    this.deps.onTrap({
      serial: match.serial,
      trapOid,
      meaning: describeTrap(trapOid),
      from: rinfo.address,
      varbinds: rest,
    });
  }

  async stop(): Promise<void> {
    const receiver = this.receiver;
    this.receiver = undefined;
    if (!receiver || !this.socket) return;
    const socket = this.socket;
    this.socket = undefined;
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
