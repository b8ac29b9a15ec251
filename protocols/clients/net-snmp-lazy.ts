/**
 * `net-snmp`, loaded on first use: the agent needs it only for SNMPv3 devices and the trap receiver (v2c polls go
 * through snmp-native), and loading it costs ~8 MB of an agent's memory. A plain `require` (the package is
 * CommonJS, kept out of the bundle), so callers stay synchronous.
 */
import { createRequire } from 'node:module';
import type NetSnmp from 'net-snmp';

export type NetSnmpModule = typeof NetSnmp;

let loaded: NetSnmpModule | undefined;

export function netSnmp(): NetSnmpModule {
  loaded ??= createRequire(import.meta.url)('net-snmp') as NetSnmpModule;
  return loaded;
}
