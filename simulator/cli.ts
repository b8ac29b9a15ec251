/**
 * Poly command-line API outputs (poly-devices.md §3). Line labels and formats of whoami, status, callinfo,
 * getcallstate, netstats and advnetstats are [CODE] (S10's parser, Group Series CLI family); the exact value
 * spellings, the `-> ` prompt and the `temperature get` command (simulator only) are a [GUESS].
 */
import type { SimDevice } from './device.ts';

export const PROMPT = '-> ';

export function whoami(d: SimDevice): string[] {
  const id = d.identity;
  const now = new Date(d.now());
  return [
    `Hi, my name is : ${id.systemName}`,
    'Here is what I know about myself:',
    `Model: ${id.model}`,
    `Serial Number: ${id.serial}`,
    `Software Version: ${id.softwareVersion}`,
    `Build Information: ${id.build}`,
    `FPGA Revision: 1.0`,
    `Main Processor: ARM`,
    `Time In Last Call: 0:00:00`,
    `Total Time In Calls: 0:00:00`,
    `Total Calls: 0`,
    `SNTP Time Service: auto insync ntp.example.com`,
    `Local Time is: ${now.toUTCString()}`,
    `Network Interface: NONE`,
    `IP Video Number: 127.0.0.1`,
    `MAC Address: ${id.mac}`,
    `H323 Enabled: True`,
    `HTTP Enabled: True`,
    `SNMP Enabled: True`,
  ];
}

const onOff = (ok: boolean): string => (ok ? 'online' : 'offline');

export function status(d: SimDevice): string[] {
  const cam = d.isCameraConnected();
  return [
    `inacall ${onOff(d.call !== null)}`,
    'autoanswerp2p online',
    'remotecontrol online',
    `microphones ${onOff(d.isMicConnected())}`,
    'visualboard offline',
    'globaldirectory offline',
    'ipnetwork online',
    'gatekeeper online',
    'sipserver online',
    'logthreshold offline',
    'meetingpassword offline',
    'rpms offline',
    `camera ${onOff(cam)}`,
    `trackablecamera ${onOff(cam)}`,
    'provisioning offline',
    `audio ${onOff(d.isMicConnected())}`,
    'calendar offline',
    'status end',
  ];
}

export function callinfo(d: SimDevice): string[] {
  const c = d.call;
  if (!c) return ['system is not in a call'];
  return [
    'callinfo begin',
    `callinfo:${c.id}:${c.farSiteName}:${c.farSiteNumber}:${c.speedKbps}:connected:notmuted:${c.direction}:videocall`,
    'callinfo end',
  ];
}

export function getcallstate(d: SimDevice): string[] {
  const c = d.call;
  const lines: string[] = [];
  for (let i = 0; i < 3; i++) {
    if (c && i === 0) {
      lines.push(
        `cs: call[${c.id}] speed[${c.speedKbps}] dialstr[${c.farSiteNumber}] state[connected] type[videocall] dir[${c.direction}]`,
      );
    } else {
      lines.push(`cs: call[${i}] inactive`);
    }
  }
  return lines;
}

export function netstats(d: SimDevice): string[] {
  const c = d.call;
  if (!c) return ['system is not in a call'];
  const lost = Math.round(c.packetsLostRx / 2);
  const pct = (c.quality.lossPct / 2).toFixed(1);
  return [
    `call:0 txrate:${c.speedKbps} K rxrate:${c.speedKbps} K pktloss:${lost} %pktloss:${pct} % tvp:H.264 rvp:H.264 tvf:1280x720 rvf:1280x720 tap:G.722.1C rap:G.722.1C tcp:SIP rcp:SIP`,
  ];
}

export function advnetstats(d: SimDevice): string[] {
  const c = d.call;
  if (!c) return ['system is not in a call'];
  const q = c.quality;
  const video = c.speedKbps - 64;
  const vpl = c.packetsLostRx;
  return [
    `call:0 tar:64 K rar:64 K tvr:${video} K rvr:${video} K tvru:${video - 6} K rvru:${video - 5} K tvfr:30 rvfr:30 vfe:0 tapl:0 rapl:${Math.round(vpl / 10)} taj:${q.jitterMs} ms raj:${q.jitterMs} ms tvpl:0 rvpl:${vpl} tvj:${q.jitterMs} ms rvj:${q.jitterMs} ms dc:Disabled rsid:${c.farSiteName} ccaps:---`,
  ];
}

/** Run one CLI line; returns the output lines (without line endings). */
export function runCommand(d: SimDevice, line: string): string[] {
  const cmd = line.trim().replace(/\s+/g, ' ');
  switch (cmd) {
    case '':
      return [];
    case 'whoami':
      return whoami(d);
    case 'status':
      return status(d);
    case 'callinfo all':
      return callinfo(d);
    case 'getcallstate':
      return getcallstate(d);
    case 'netstats':
      return netstats(d);
    case 'advnetstats':
      return advnetstats(d);
    case 'temperature get':
      return [`temperature ${d.temperatureC().toFixed(1)} C ${d.isTemperatureHigh() ? 'high' : 'normal'}`];
    case 'reboot now':
      // poly-devices.md §3 lists `reboot now`; the unit goes down for its reboot time, as after the REST reboot
      setImmediate(() => d.injectFault({ kind: 'reboot', durationMs: d.tuning.rebootDurationMs }));
      return ['rebooting'];
    case 'mute near get':
      return ['mute near off'];
    case 'volume get':
      return ['volume 39'];
    default:
      if (cmd === 'callinfo') return ['error: command needs more parameters to execute successfully'];
      return ['error: command not found'];
  }
}
