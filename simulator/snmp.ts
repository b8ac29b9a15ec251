/**
 * The SNMP agent of one simulated device (net-snmp createAgent, one UDP port): v2c community and v3 USM
 * (authPriv SHA/AES). MIB-II system group and IF-MIB ifTable (standard OIDs; device support is a [GUESS]),
 * POLYCOM-ENDPOINT-MIB under 1.3.6.1.4.1.13885.101.1 (OIDs [CODE] from S11/S12; that Video OS implements it is a
 * [GUESS]), and a simulated temperature in LM-SENSORS-MIB lmTempSensorsTable 1.3.6.1.4.1.2021.13.16.2.1
 * ([GUESS]: the Poly MIB has no temperature; value in millidegrees C, row 1 "board").
 * Values are refreshed from the device state just before each request is processed.
 */
import dgram from 'node:dgram';
import snmp from 'net-snmp';
import type { SimDevice } from './device.ts';

export const POLY = '1.3.6.1.4.1.13885.101.1';
export const OID = {
  sysDescr: '1.3.6.1.2.1.1.1',
  sysObjectID: '1.3.6.1.2.1.1.2',
  sysUpTime: '1.3.6.1.2.1.1.3',
  sysName: '1.3.6.1.2.1.1.5',
  ifEntry: '1.3.6.1.2.1.2.2.1',
  identity: `${POLY}.1`,
  hardwareOverallStatus: `${POLY}.3.1`,
  hardwareMicrophoneStatus: `${POLY}.3.5.1`,
  micEntry: `${POLY}.3.5.2.1`,
  hardwareCameraStatus: `${POLY}.3.6.1`,
  cameraEntry: `${POLY}.3.6.2.1`,
  hardwareNICStatus: `${POLY}.3.10.1`,
  nicEntry: `${POLY}.3.10.2.1`,
  callEntry: `${POLY}.4.1.1`,
  conferenceNumberActiveConferences: `${POLY}.5.1`,
  lmTempSensorsEntry: '1.3.6.1.4.1.2021.13.16.2.1',
} as const;
/** sysObjectID of a Video OS unit is unknown [GUESS]: the endpoint MIB root. */
export const SIM_SYS_OBJECT_ID = '1.3.6.1.4.1.13885.101';

const T = snmp.ObjectType;
const RO = snmp.MaxAccess['read-only'];
const STATUS_OK = 2;
const STATUS_FAILED = 3;

type Scalar = [name: string, oid: string, type: number, value: (d: SimDevice) => unknown];

const status = (ok: boolean): number => (ok ? STATUS_OK : STATUS_FAILED);

const SCALARS: Scalar[] = [
  ['sysDescr', OID.sysDescr, T.OctetString, (d) => `Poly ${d.identity.model} ${d.identity.firmware}`],
  ['sysObjectID', OID.sysObjectID, T.OID, () => SIM_SYS_OBJECT_ID],
  ['sysUpTime', OID.sysUpTime, T.TimeTicks, (d) => Math.floor(d.uptimeS() * 100) % 4294967296],
  ['sysContact', '1.3.6.1.2.1.1.4', T.OctetString, () => 'av-support@example.com'],
  ['sysName', OID.sysName, T.OctetString, (d) => d.identity.systemName],
  ['sysLocation', '1.3.6.1.2.1.1.6', T.OctetString, () => 'sim-site'],
  ['identitySoftwareInfo', `${OID.identity}.1`, T.OctetString, (d) => d.identity.softwareVersion],
  ['identityDeviceType', `${OID.identity}.3`, T.OctetString, () => 'videoConferencingEndpoint'],
  ['identityDeviceModel', `${OID.identity}.4`, T.OctetString, (d) => d.identity.model],
  ['identityDeviceSerialNumber', `${OID.identity}.5`, T.OctetString, (d) => d.identity.serial],
  ['identityStatus', `${OID.identity}.6`, T.Integer, (d) => status(d.isHealthy())],
  ['hardwareOverallStatus', OID.hardwareOverallStatus, T.Integer, (d) => status(d.isHealthy())],
  ['hardwareMicrophoneStatus', OID.hardwareMicrophoneStatus, T.Integer, (d) => status(d.isMicConnected())],
  ['hardwareCameraStatus', OID.hardwareCameraStatus, T.Integer, (d) => status(d.isCameraConnected())],
  ['hardwareNICStatus', OID.hardwareNICStatus, T.Integer, () => STATUS_OK],
  ['conferenceNumberActiveConferences', OID.conferenceNumberActiveConferences, T.Integer, (d) => (d.call ? 1 : 0)],
];

type Column = [number: number, name: string, type: number];
type TableDef = { name: string; oid: string; columns: Column[]; rows: (d: SimDevice) => unknown[][] };

/** Call table columns: a subset of callActiveCallsTable .1.4.1.1.<n> ([CODE] numbering; units are a [GUESS]). */
const CALL_COLUMNS: Column[] = [
  [1, 'callIndex', T.Integer],
  [2, 'callCallID', T.OctetString],
  [3, 'callConfID', T.OctetString],
  [4, 'callVoiceJitterRX', T.Gauge],
  [5, 'callVoiceJitterTX', T.Gauge],
  [6, 'callVoiceLatencyRX', T.Gauge],
  [7, 'callVoiceLatencyTX', T.Gauge],
  [8, 'callVoicePacketLossRX', T.Gauge],
  [9, 'callVoicePacketLossTX', T.Gauge],
  [14, 'callTotalPacketsLostRX', T.Gauge],
  [15, 'callTotalPacketsLostTX', T.Gauge],
  [16, 'callPctPacketLostRX', T.Gauge],
  [17, 'callPctPacketLostTX', T.Gauge],
  [18, 'callOverallLatencyRX', T.Gauge],
  [19, 'callOverallLatencyTX', T.Gauge],
  [20, 'callOverallJitterRX', T.Gauge],
  [21, 'callOverallJitterTX', T.Gauge],
  [46, 'callVideoJitterRX', T.Gauge],
  [47, 'callVideoJitterTX', T.Gauge],
  [50, 'callVideoPacketLossRX', T.Gauge],
  [51, 'callVideoPacketLossTX', T.Gauge],
  [58, 'callFarSiteName', T.OctetString],
  [60, 'callCallType', T.OctetString],
];

function callRows(d: SimDevice): unknown[][] {
  const c = d.call;
  if (!c) return [];
  const q = c.quality;
  const pct = Math.round(q.lossPct);
  const lostTx = Math.round(c.packetsLostRx / 2);
  return [
    [
      1,
      String(c.id),
      String(c.confId),
      q.jitterMs,
      q.jitterMs,
      q.latencyMs,
      q.latencyMs,
      c.packetsLostRx,
      lostTx,
      c.packetsLostRx,
      lostTx,
      pct,
      Math.round(pct / 2),
      q.latencyMs,
      q.latencyMs,
      q.jitterMs,
      q.jitterMs,
      q.jitterMs,
      q.jitterMs,
      c.packetsLostRx,
      lostTx,
      c.farSiteName,
      'videoCall',
    ],
  ];
}

const TABLES: TableDef[] = [
  {
    name: 'ifEntry',
    oid: OID.ifEntry,
    columns: [
      [1, 'ifIndex', T.Integer],
      [2, 'ifDescr', T.OctetString],
      [3, 'ifType', T.Integer],
      [5, 'ifSpeed', T.Gauge],
      [6, 'ifPhysAddress', T.OctetString],
      [7, 'ifAdminStatus', T.Integer],
      [8, 'ifOperStatus', T.Integer],
    ],
    rows: (d) => [[1, 'eth0', 6, 1_000_000_000, Buffer.from(d.identity.mac.replaceAll(':', ''), 'hex'), 1, 1]],
  },
  {
    name: 'hardwareMicrophonesEntry',
    oid: OID.micEntry,
    columns: [
      [1, 'micIndex', T.Integer],
      [2, 'micName', T.OctetString],
      [3, 'micStatus', T.Integer],
    ],
    rows: (d) => [[1, 'Polycom Kitten Mic', status(d.isMicConnected())]],
  },
  {
    name: 'hardwareCamerasEntry',
    oid: OID.cameraEntry,
    columns: [
      [1, 'camIndex', T.Integer],
      [2, 'camName', T.OctetString],
      [3, 'camStatus', T.Integer],
    ],
    rows: (d) => [[1, d.identity.camera.name, status(d.isCameraConnected())]],
  },
  {
    name: 'hardwareNICEntry',
    oid: OID.nicEntry,
    columns: [
      [1, 'nicIndex', T.Integer],
      [2, 'nicName', T.OctetString],
      [3, 'nicMAC', T.OctetString],
      [4, 'nicSpeed', T.Integer],
      [5, 'nicDuplex', T.Integer],
      [6, 'nicStatus', T.Integer],
      [7, 'nicIPType', T.Integer],
    ],
    rows: (d) => [[1, 'eth0', d.identity.mac, 1000, 2, STATUS_OK, 1]],
  },
  { name: 'callActiveCallsEntry', oid: OID.callEntry, columns: CALL_COLUMNS, rows: callRows },
  {
    name: 'lmTempSensorsEntry',
    oid: OID.lmTempSensorsEntry,
    columns: [
      [1, 'lmTempSensorsIndex', T.Integer],
      [2, 'lmTempSensorsDevice', T.OctetString],
      [3, 'lmTempSensorsValue', T.Gauge],
    ],
    rows: (d) => [[1, 'board', Math.round(d.temperatureC() * 1000)]],
  },
];

export interface SnmpServer {
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: net-snmp's Mib is untyped (@types/net-snmp types createAgent as any)
type Mib = any;

function refresh(mib: Mib, d: SimDevice, rowState: Map<string, { key: string; indexes: unknown[] }>): void {
  for (const [name, , , value] of SCALARS) mib.setScalarValue(name, value(d));
  for (const table of TABLES) {
    const rows = table.rows(d);
    const key = JSON.stringify(rows);
    const previous = rowState.get(table.name);
    if (previous?.key === key) continue;
    for (const index of previous?.indexes ?? []) mib.deleteTableRow(table.name, [index]);
    for (const row of rows) mib.addTableRow(table.name, row);
    rowState.set(table.name, { key, indexes: rows.map((r) => r[0]) });
  }
}

export function createSnmpServer(device: SimDevice, host: string): SnmpServer {
  const id = device.identity;
  let socket: dgram.Socket | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: untyped net-snmp Agent
  let agent: any;
  let port = 0;
  const rowKeys = new Map<string, { key: string; indexes: unknown[] }>();

  /** Faults act on each datagram before net-snmp sees it: down = silent, loss = dropped, slow = delayed. */
  const gate = (deliver: (msg: Buffer, rinfo: dgram.RemoteInfo) => void) => (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    if (!device.isUp() || device.isDropped() || !agent) return;
    const run = (): void => {
      if (!device.isUp() || !agent) return;
      try {
        refresh(agent.getMib(), device, rowKeys);
        deliver(msg, rinfo);
      } catch (err) {
        device.log.warn({ err }, 'snmp request failed');
      }
    };
    const addedMs = device.addedDelayMs();
    if (addedMs > 0) setTimeout(run, addedMs);
    else run();
  };

  return {
    get port() {
      return port;
    },
    async start() {
      const dgramModule = {
        createSocket(type: 'udp4' | 'udp6') {
          const s = dgram.createSocket(type);
          socket = s;
          const bind = s.bind.bind(s) as (p: number, a: string) => dgram.Socket;
          // net-snmp turns port 0 into 161: bind to 0 here and read the real port afterwards.
          (s as unknown as { bind: (p: number, a: string) => dgram.Socket }).bind = (_p, a) => bind(0, a);
          const on = s.on.bind(s);
          (s as unknown as { on: typeof on }).on = ((event: string, fn: (...args: never[]) => void) =>
            event === 'message' ? on('message', gate(fn as never)) : on(event as 'error', fn as never)) as typeof on;
          return s;
        },
      };
      agent = snmp.createAgent({ port: 1, address: host, transport: 'udp4', dgramModule }, (err: unknown) => {
        if (err) device.log.debug({ err }, 'snmp request error');
      });
      const auth = agent.getAuthorizer();
      auth.addCommunity(id.snmpCommunity);
      auth.addUser({
        name: id.snmpV3.user,
        level: snmp.SecurityLevel.authPriv,
        authProtocol: snmp.AuthProtocols.sha,
        authKey: id.snmpV3.authKey,
        privProtocol: snmp.PrivProtocols.aes,
        privKey: id.snmpV3.privKey,
      });
      const mib = agent.getMib();
      for (const [name, oid, scalarType] of SCALARS) {
        mib.registerProvider({ name, type: snmp.MibProviderType.Scalar, oid, scalarType, maxAccess: RO });
      }
      for (const t of TABLES) {
        mib.registerProvider({
          name: t.name,
          type: snmp.MibProviderType.Table,
          oid: t.oid,
          maxAccess: snmp.MaxAccess['not-accessible'],
          tableColumns: t.columns.map(([number, name, type]) => ({ number, name, type, maxAccess: RO })),
          tableIndex: [{ columnName: t.columns[0]![1] }],
        });
      }
      refresh(mib, device, rowKeys);
      const s = socket!;
      await new Promise<void>((resolve, reject) => {
        s.once('listening', () => resolve());
        s.once('error', reject);
      });
      port = s.address().port;
    },
    async stop() {
      const a = agent;
      agent = undefined;
      if (!a) return;
      await new Promise<void>((resolve) => {
        try {
          a.close(() => resolve());
        } catch {
          resolve();
        }
      });
    },
  };
}
