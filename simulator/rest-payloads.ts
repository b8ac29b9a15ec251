/**
 * Poly Video OS REST reply bodies built from device state. Shapes follow poly-devices.md §1.3:
 * [CODE-SAMPLE] for /rest/system, /rest/system/status, /rest/audio, /rest/audio/microphones, devicemanagement;
 * [2ND] for /rest/cameras/near/all; [CODE] for conferences and mediastats. Value sets marked [GUESS] were not seen.
 */
import type { SimCall, SimDevice } from './device.ts';

export function systemInfo(d: SimDevice): Record<string, unknown> {
  const id = d.identity;
  return {
    build: id.build,
    buildType: 'Release',
    hardwareVersion: '1',
    lanStatus: { duplex: 'FULL', speedMbps: 1000, state: 'LAN_UP' },
    model: id.model,
    rebootNeeded: false,
    serialNumber: id.serial,
    softwareVersion: id.softwareVersion,
    // 'ASLEEP' is the only value seen; 'INCALL' is a [GUESS].
    state: d.call ? 'INCALL' : 'ASLEEP',
    systemName: id.systemName,
    systemTime: d.now(),
    timeOffset: 0,
    timeServerState: 'TIMESERVER_UP',
    uptime: Math.round(d.uptimeS() * 100) / 100,
  };
}

function statusItem(name: string, langtag: string, state: string): Record<string, unknown> {
  return { langtag, name, stateList: [state] };
}

/** `down` / `all_down` appear only on faults: the value names are a [GUESS] (only up/all_up/off were seen). */
export function systemStatus(d: SimDevice): Record<string, unknown>[] {
  const cam = d.isCameraConnected();
  const mic = d.isMicConnected();
  const camTag = d.identity.camera.isBuiltIn ? 'CAMERA_MODEL_BUILT_IN_1.0' : 'CAMERA_MODEL_E70';
  return [
    statusItem('system.status.ipnetwork', 'LAN_NETWORK_HEADING', 'up'),
    statusItem('system.status.trackablecamera', camTag, cam ? 'up' : 'down'),
    statusItem('system.status.autoanswerp2p', 'AUTO_ANSWER_P2P_HEADING', 'up'),
    statusItem('system.status.sipserver', 'SIP_SERVER_HEADING', 'up'),
    statusItem('system.status.gatekeeper', 'GATEKEEPER_HEADING', 'up'),
    statusItem('system.status.mr.camera', 'CAMERAS_HEADING', cam ? 'all_up' : 'all_down'),
    statusItem('system.status.provisioning', 'PROVISIONING_SERVICE_HEADING', 'off'),
    statusItem('system.status.mr.audio', 'MICROPHONES_HEADING', mic ? 'all_up' : 'all_down'),
    statusItem('system.status.remotecontrol', 'REMOTE_CONTROL_HEADING', 'off'),
    statusItem('system.status.logthreshold', 'LOG_THRESHOLD_HEADING', 'off'),
    statusItem('system.status.globaldirectory', 'SYSTEM_STATUS_GLOBALDIRECTORY_SERVER', 'off'),
    statusItem('system.status.calendar', 'CALENDAR_SERVICE_HEADING', 'off'),
  ];
}

export function audio(d: SimDevice): Record<string, unknown> {
  return { muteLocked: false, muted: false, numOfMicsConnected: d.isMicConnected() ? 1 : 0, volume: 39 };
}

/** A missing mic pod disappears from the list (the real reply only lists attached mics [GUESS]). */
export function microphones(d: SimDevice): Record<string, unknown>[] {
  if (!d.isMicConnected()) return [];
  return [
    {
      hwVersion: 'NA',
      mute: 0,
      number: 0,
      parentID: 0,
      state: 'MIC_STATE_GREEN',
      swVersion: 'NA',
      type: 84,
      typeInString: 'Polycom Kitten Mic',
    },
  ];
}

export function cameras(d: SimDevice): Record<string, unknown>[] {
  const cam = d.identity.camera;
  return [
    {
      cameraIndex: 1,
      iconName: cam.isBuiltIn ? 'builtin' : 'eagleeye',
      model: cam.model,
      name: cam.name,
      sessionID: '',
      sourceType: 'PEOPLE',
      stateAutoFocus: 'ON',
      stateFreeze: 'OFF',
      stateMarker: 'OFF',
      connected: d.isCameraConnected(),
      hasAutoFocus: true,
      hasFocus: true,
      hasFreeze: true,
      hasMarker: false,
      hasPan: true,
      hasTilt: true,
      hasZoom: true,
      nearCamera: true,
      ptzcapable: true,
      selected: true,
      trackable: true,
    },
  ];
}

export function conference(d: SimDevice, call: SimCall): Record<string, unknown> {
  return {
    id: call.confId,
    isActive: true,
    startTime: call.startedAt,
    duration: Math.round((d.now() - call.startedAt) / 1000),
    holdState: 'NOTHELD',
    isHolding: false,
    isMute: false,
    isSvcConference: false,
    isWaitingInLobby: false,
    connections: [
      {
        id: call.id,
        callType: 'VIDEO',
        callInfo: call.farSiteName,
        startTime: call.startedAt,
        address: call.farSiteNumber,
        parentConfId: call.confId,
      },
    ],
    terminals: [{ address: call.farSiteNumber, systemID: call.farSiteName }],
  };
}

export function mediaStats(call: SimCall): Record<string, unknown>[] {
  const q = call.quality;
  const stream = (direction: 'RX' | 'TX', mediaType: 'AUDIO' | 'VIDEO'): Record<string, unknown> => {
    const isVideo = mediaType === 'VIDEO';
    const bitRate = isVideo ? call.speedKbps - 64 : 64;
    const loss = direction === 'RX' ? q.lossPct : Math.round(q.lossPct * 50) / 100;
    return {
      mediaDirection: direction,
      mediaType,
      actualBitRate: bitRate,
      jitter: q.jitterMs,
      packetLoss: direction === 'RX' ? call.packetsLostRx : Math.round(call.packetsLostRx / 2),
      percentPacketLoss: loss,
      mediaAlgorithm: isVideo ? 'H.264' : 'G.722.1C',
      actualFrameRate: isVideo ? 30 : 0,
      mediaFormat: isVideo ? '1280x720' : '',
    };
  };
  return [stream('RX', 'AUDIO'), stream('TX', 'AUDIO'), stream('RX', 'VIDEO'), stream('TX', 'VIDEO')];
}

export function peripherals(d: SimDevice, address: string): Record<string, unknown>[] {
  const id = d.identity;
  const cam = id.camera;
  const camState = d.isCameraConnected() ? (cam.isBuiltIn ? 'PAIRED' : 'CONNECTED') : 'DISCONNECTED';
  return [
    {
      connectionType: 'Unknown',
      deviceCategory: 'SYSTEM',
      deviceState: 'CONNECTED',
      deviceType: 'CODEC',
      ip: address,
      macAddress: id.mac,
      networkInterface: '',
      productName: id.model,
      serialNumber: '',
      softwareVersion: id.softwareVersion,
      systemName: id.systemName,
      uid: 'local-system',
    },
    {
      connectionType: cam.isBuiltIn ? 'HDCI' : 'USB',
      deviceCategory: 'CAMERA',
      deviceState: camState,
      deviceType: 'CAMERA',
      ip: '',
      macAddress: '',
      networkInterface: '',
      productName: cam.isBuiltIn ? 'Built-in camera' : 'Poly Studio E70',
      serialNumber: cam.serial ?? '',
      softwareVersion: cam.isBuiltIn ? '' : '1.2.0',
      systemName: cam.name,
      uid: 'local-camera',
    },
  ];
}

/** Simulated temperature: real units expose none over REST. This endpoint is a [GUESS] of the simulator only. */
export function temperature(d: SimDevice): Record<string, unknown> {
  return {
    temperatureC: d.temperatureC(),
    thresholdC: d.tuning.temperatureThresholdC,
    state: d.isTemperatureHigh() ? 'HIGH' : 'NORMAL',
  };
}
