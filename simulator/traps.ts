/**
 * SNMPv2c traps to a configured receiver when a fault starts or ends.
 * Trap OIDs 1.3.6.1.4.1.13885.101.0.<n> are [CODE] (POLYCOM-ENDPOINT-MIB, S12): 76/77 primaryCameraDown/OK,
 * 85/86 packetLossExcessive/OK, 21/22 securityPortLocked/Unlocked. coldStart (1.3.6.1.6.3.1.1.5.1) after a boot is
 * standard SNMPv2-MIB. The notification variables `.1.99.<n>.0` carried with them are a [GUESS] on instance and use.
 */
import snmp from 'net-snmp';
import type { Logger } from 'pino';
import type { SimDevice } from './device.ts';
import { POLY } from './snmp.ts';

export const TRAP = {
  securityPortLocked: '1.3.6.1.4.1.13885.101.0.21',
  securityPortUnlocked: '1.3.6.1.4.1.13885.101.0.22',
  primaryCameraDown: '1.3.6.1.4.1.13885.101.0.76',
  primaryCameraOK: '1.3.6.1.4.1.13885.101.0.77',
  callConnected: '1.3.6.1.4.1.13885.101.0.78',
  callDisconnected: '1.3.6.1.4.1.13885.101.0.79',
  packetLossExcessive: '1.3.6.1.4.1.13885.101.0.85',
  packetLossOK: '1.3.6.1.4.1.13885.101.0.86',
  coldStart: '1.3.6.1.6.3.1.1.5.1',
} as const;

export interface TrapTarget {
  host: string;
  port: number;
  /** The community traps carry; default: the device's own read community (what `hezo sim --agent-config` configures). */
  community?: string;
}

export interface SentTrap {
  serial: string;
  oid: string;
  summary: string;
}

export interface TrapSender {
  send(device: SimDevice, oid: string, summary: string, isProblem: boolean): void;
  /** Where this device sends its traps from now on (undefined: nowhere). A device without its own uses the default. */
  setTarget(serial: string, target: TrapTarget | undefined): void;
  close(): void;
}

type Session = ReturnType<typeof snmp.createSession>;

/**
 * Traps of every device, each to its own destination (a real unit's trap destination is its own setting):
 * one net-snmp session per destination and community.
 */
export function createTrapSender(
  defaultTarget: TrapTarget | undefined,
  logger: Logger,
  onSent: (trap: SentTrap) => void,
): TrapSender {
  const sessions = new Map<string, Session>();
  const targets = new Map<string, TrapTarget | undefined>();
  const sessionFor = (target: TrapTarget, community: string): Session => {
    const key = `${target.host}|${target.port}|${community}`;
    let session = sessions.get(key);
    if (!session) {
      session = snmp.createSession(target.host, community, { trapPort: target.port, version: snmp.Version2c });
      session.on('error', (err: unknown) => logger.warn({ err }, 'trap session error'));
      sessions.set(key, session);
    }
    return session;
  };
  return {
    send(device, oid, summary, isProblem) {
      if (!device.isUp()) return;
      const target = targets.has(device.serial) ? targets.get(device.serial) : defaultTarget;
      if (!target) return;
      const session = sessionFor(target, target.community ?? device.identity.snmpCommunity);
      const T = snmp.ObjectType;
      const varbinds = [
        { oid: `${POLY}.99.1.0`, type: T.OctetString, value: device.identity.systemName },
        { oid: `${POLY}.99.3.0`, type: T.Integer, value: isProblem ? 1 : 2 },
        { oid: `${POLY}.99.6.0`, type: T.OctetString, value: summary },
        { oid: `${POLY}.99.7.0`, type: T.Integer, value: isProblem ? 3 : 6 },
        { oid: `${POLY}.1.5.0`, type: T.OctetString, value: device.identity.serial },
      ];
      const upTime = Math.floor(device.uptimeS() * 100) % 4294967296;
      session.trap(oid, varbinds, { upTime }, (err: unknown) => {
        if (err) logger.warn({ err, oid, serial: device.serial }, 'trap not sent');
        else onSent({ serial: device.serial, oid, summary });
      });
    },
    setTarget(serial, target) {
      targets.set(serial, target);
    },
    close() {
      for (const session of sessions.values()) session.close();
      sessions.clear();
    },
  };
}

/** Wire a device's state changes to traps. Returns a function that unwires them. */
export function wireTraps(device: SimDevice, sender: TrapSender): () => void {
  const onFault = (fault: { kind: string }, phase: 'start' | 'end'): void => {
    if (fault.kind === 'camera-disconnected') {
      const cam = device.identity.camera.name;
      if (phase === 'start') sender.send(device, TRAP.primaryCameraDown, `camera ${cam} down`, true);
      else sender.send(device, TRAP.primaryCameraOK, `camera ${cam} ok`, false);
    }
  };
  const onLoss = (phase: 'excessive' | 'ok'): void => {
    if (phase === 'excessive') sender.send(device, TRAP.packetLossExcessive, 'packet loss excessive', true);
    else sender.send(device, TRAP.packetLossOK, 'packet loss ok', false);
  };
  const onLock = (phase: 'start' | 'end'): void => {
    if (phase === 'start') sender.send(device, TRAP.securityPortLocked, 'port locked after failed logins', true);
    else sender.send(device, TRAP.securityPortUnlocked, 'port unlocked', false);
  };
  const onCall = (phase: 'start' | 'end'): void => {
    sender.send(
      device,
      phase === 'start' ? TRAP.callConnected : TRAP.callDisconnected,
      `call ${phase === 'start' ? 'connected' : 'disconnected'}`,
      false,
    );
  };
  const onBoot = (): void => sender.send(device, TRAP.coldStart, 'cold start', false);
  device.on('fault', onFault);
  device.on('packet-loss', onLoss);
  device.on('port-lock', onLock);
  device.on('call', onCall);
  device.on('boot', onBoot);
  return () => {
    device.off('fault', onFault);
    device.off('packet-loss', onLoss);
    device.off('port-lock', onLock);
    device.off('call', onCall);
    device.off('boot', onBoot);
  };
}
