/**
 * What a received SNMP notification means: standard SNMPv2-MIB traps (coldStart .. authenticationFailure,
 * RFC 3418 / IF-MIB linkDown/linkUp) and the POLYCOM-ENDPOINT-MIB traps `1.3.6.1.4.1.13885.101.0.<n>`
 * (poly-devices.md §2.3, [CODE] S12). Each maps to a name, a kind, whether it reports a problem, and whether it
 * warrants an immediate re-poll of the device (everything that can change its health; not login notices, which
 * the agent's own logins cause).
 */

export type TrapKind = 'boot' | 'link' | 'component' | 'network' | 'call' | 'security' | 'software' | 'server';

export interface TrapMeaning {
  name: string;
  kind: TrapKind;
  /** true: a problem starts; false: a problem ends or a neutral notice. */
  isProblem: boolean;
  /** Poll the device now instead of waiting for its next scheduled poll. */
  repoll: boolean;
}

/** snmpTrapOID.0: the varbind of a v2c/v3 notification that names the trap. */
export const SNMP_TRAP_OID = '1.3.6.1.6.3.1.1.4.1.0';
export const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';
const STANDARD = '1.3.6.1.6.3.1.1.5';
export const POLYCOM_TRAPS = '1.3.6.1.4.1.13885.101.0';

const m = (name: string, kind: TrapKind, isProblem: boolean, repoll = true): TrapMeaning => ({
  name,
  kind,
  isProblem,
  repoll,
});

const CATALOGUE = new Map<string, TrapMeaning>([
  [`${STANDARD}.1`, m('coldStart', 'boot', false)],
  [`${STANDARD}.2`, m('warmStart', 'boot', false)],
  [`${STANDARD}.3`, m('linkDown', 'link', true)],
  [`${STANDARD}.4`, m('linkUp', 'link', false)],
  [`${STANDARD}.5`, m('authenticationFailure', 'security', true, false)],
  [`${POLYCOM_TRAPS}.17`, m('securityFailedAuthAttempt', 'security', true, false)],
  [`${POLYCOM_TRAPS}.19`, m('securitySuccessfulAuthAttempt', 'security', false, false)],
  [`${POLYCOM_TRAPS}.21`, m('securityPortLocked', 'security', true)],
  [`${POLYCOM_TRAPS}.22`, m('securityPortUnlocked', 'security', false)],
  [`${POLYCOM_TRAPS}.23`, m('securityAccountLocked', 'security', true)],
  [`${POLYCOM_TRAPS}.24`, m('securityAccountUnlocked', 'security', false)],
  [`${POLYCOM_TRAPS}.25`, m('securityConfigChange', 'security', false)],
  [`${POLYCOM_TRAPS}.67`, m('softwareUpdateStarted', 'software', false)],
  [`${POLYCOM_TRAPS}.68`, m('softwareUpdateComplete', 'software', false)],
  [`${POLYCOM_TRAPS}.69`, m('softwareUpdateFailed', 'software', true)],
  [`${POLYCOM_TRAPS}.70`, m('h323GateKeeperRegistrationFailed', 'network', true)],
  [`${POLYCOM_TRAPS}.71`, m('h323GateKeeperRegistrationOK', 'network', false)],
  [`${POLYCOM_TRAPS}.72`, m('sipRegistrationFailed', 'network', true)],
  [`${POLYCOM_TRAPS}.73`, m('sipRegistrationOK', 'network', false)],
  [`${POLYCOM_TRAPS}.74`, m('isdnLineDown', 'link', true)],
  [`${POLYCOM_TRAPS}.75`, m('isdnLineUp', 'link', false)],
  [`${POLYCOM_TRAPS}.76`, m('primaryCameraDown', 'component', true)],
  [`${POLYCOM_TRAPS}.77`, m('primaryCameraOK', 'component', false)],
  [`${POLYCOM_TRAPS}.78`, m('callConnected', 'call', false)],
  [`${POLYCOM_TRAPS}.79`, m('callDisconnected', 'call', false)],
  [`${POLYCOM_TRAPS}.80`, m('callFailed', 'call', true)],
  [`${POLYCOM_TRAPS}.81`, m('jitterExcessive', 'call', true)],
  [`${POLYCOM_TRAPS}.82`, m('jitterOK', 'call', false)],
  [`${POLYCOM_TRAPS}.83`, m('latencyExcessive', 'call', true)],
  [`${POLYCOM_TRAPS}.84`, m('latencyOK', 'call', false)],
  [`${POLYCOM_TRAPS}.85`, m('packetLossExcessive', 'call', true)],
  [`${POLYCOM_TRAPS}.86`, m('packetLossOK', 'call', false)],
  [`${POLYCOM_TRAPS}.87`, m('presenceServerDown', 'server', true)],
  [`${POLYCOM_TRAPS}.88`, m('presenceServerOK', 'server', false)],
  [`${POLYCOM_TRAPS}.89`, m('cdrServerDown', 'server', true)],
  [`${POLYCOM_TRAPS}.90`, m('cdrServerOK', 'server', false)],
  [`${POLYCOM_TRAPS}.91`, m('syslogServerDown', 'server', true)],
  [`${POLYCOM_TRAPS}.92`, m('syslogServerOK', 'server', false)],
  [`${POLYCOM_TRAPS}.93`, m('softwareUpdateServerDown', 'server', true)],
  [`${POLYCOM_TRAPS}.94`, m('softwareUpdateServerOK', 'server', false)],
  [`${POLYCOM_TRAPS}.95`, m('provisioningServerDown', 'server', true)],
  [`${POLYCOM_TRAPS}.96`, m('provisioningServerOK', 'server', false)],
  [`${POLYCOM_TRAPS}.97`, m('calendarServerDown', 'server', true)],
  [`${POLYCOM_TRAPS}.98`, m('calendarServerOK', 'server', false)],
  [`${POLYCOM_TRAPS}.99`, m('directoryServerDown', 'server', true)],
  [`${POLYCOM_TRAPS}.100`, m('directoryServerOK', 'server', false)],
  [`${POLYCOM_TRAPS}.101`, m('remoteControlBatteryLow', 'component', true)],
  [`${POLYCOM_TRAPS}.102`, m('remoteControlBatteryOK', 'component', false)],
]);

/** The meaning of a trap OID, or undefined for one this catalogue does not know (reported, not re-polled). */
export function describeTrap(trapOid: string): TrapMeaning | undefined {
  return CATALOGUE.get(trapOid.replace(/^\./, ''));
}

/** SNMPv1 generic-trap numbers 0..5 as their SNMPv2 OIDs (RFC 3584 §3.1); 6 = enterprise-specific. */
export function v1TrapOid(enterprise: string, genericTrap: number, specificTrap: number): string {
  if (genericTrap >= 0 && genericTrap <= 5) return `${STANDARD}.${genericTrap + 1}`;
  return `${enterprise.replace(/^\./, '')}.0.${specificTrap}`;
}
