/**
 * `createFleet(options)`: N simulated Poly devices in one process, deterministic from the seed.
 * Networked devices (Studio X30/X50/X70, G7500 + Studio E70) each get REST (HTTPS), SNMP (UDP) and SSH ports on
 * `host`; Studio USB bars are host-side USB presence records only. See simulator/README.md for the API.
 */
import { EventEmitter } from 'node:events';
import { type Logger, pino } from 'pino';
import { type Clock, systemClock } from '../protocols/clock.ts';
import { AppError, ErrorCode } from '../protocols/errors.ts';
import { generateTls } from './certs.ts';
import { type ControlApi, createControlApi } from './control-api.ts';
import { DEFAULT_TUNING, type DeviceTuning, SimDevice, type TlsMaterial } from './device.ts';
import { type ActiveFault, FaultBook, type FaultInfo, parseFaultSpec } from './faults.ts';
import {
  createIdentity,
  type DeviceIdentity,
  POLY_USB_VENDOR_ID,
  pickModels,
  type SimModel,
  type SnmpV3Credentials,
  STUDIO_USB_PRODUCT_ID,
} from './identity.ts';
import { createPrng } from './prng.ts';
import { createRestServer, type RestServer } from './rest.ts';
import { createSnmpServer, type SnmpServer } from './snmp.ts';
import { createSshServer, type SshServer } from './ssh.ts';
import { createTrapSender, type SentTrap, type TrapSender, type TrapTarget, wireTraps } from './traps.ts';
import { type UsbBarRecord, writeUsbSysfs } from './usb-sysfs.ts';

export interface FleetOptions {
  devices: number;
  seed?: number;
  /** Address every device listens on (default 127.0.0.1). */
  host?: string;
  /** Control API port; 0 (default) = random. */
  controlPort?: number;
  trapTarget?: TrapTarget;
  clock?: Clock;
  logger?: Logger;
  /** Models to cycle through instead of the default mix. */
  models?: SimModel[];
  /** Force one firmware `version.build` for every networked device (e.g. `4.6.2.412233`). */
  firmware?: string;
  /** Timing and limits (sessions, lockout, reboot time, automatic calls...). */
  tuning?: Partial<DeviceTuning>;
}

export interface SimPeripheralInfo {
  kind: 'camera';
  model: string;
  serial: string;
}

export interface SimNetworkDeviceInfo {
  serial: string;
  model: Exclude<SimModel, 'StudioUSB'>;
  firmware: string;
  systemName: string;
  mac: string;
  address: string;
  restUrl: string;
  restPort: number;
  snmpPort: number;
  sshPort: number;
  username: string;
  password: string;
  snmpCommunity: string;
  snmpV3: SnmpV3Credentials;
  sshHostKey: string;
  peripherals: SimPeripheralInfo[];
  faults: FaultInfo[];
  usb?: undefined;
}

export interface SimUsbDeviceInfo {
  serial: string;
  model: 'StudioUSB';
  firmware: string;
  usb: { vendorId: string; productId: string };
  faults: FaultInfo[];
}

export type SimDeviceInfo = SimNetworkDeviceInfo | SimUsbDeviceInfo;

export interface FaultEvent {
  serial: string;
  kind: ActiveFault['kind'];
  phase: 'start' | 'end';
  value?: number;
}

export interface Fleet extends EventEmitter {
  start(): Promise<void>;
  stop(): Promise<void>;
  devices(): SimDeviceInfo[];
  /** Control API base URL, e.g. `http://127.0.0.1:40123` (after start). */
  readonly controlUrl: string;
  injectFault(serial: string, spec: { kind: string; durationMs?: number; value?: number }): void;
  clearFaults(serial: string): void;
  /** The live state model of one networked device (tests, demo). */
  device(serial: string): SimDevice | undefined;
  startCall(serial: string, options?: { farSiteName?: string; lossPct?: number }): void;
  endCall(serial: string): void;
  /** Set where a device (or, without a serial, every device) sends its SNMP traps; undefined = nowhere. */
  setTrapTarget(serial: string | undefined, target: TrapTarget | undefined): void;
  /** Write a fixture sysfs tree of the fleet's Studio USB bars (powered-off bars are left out); `serials`: only these (one host's). */
  writeUsbSysfs(dir: string, serials?: readonly string[]): Promise<string[]>;
}

interface NetworkEntry {
  device: SimDevice;
  rest: RestServer;
  snmp: SnmpServer;
  ssh: SshServer;
  unwire?: () => void;
}

interface UsbEntry {
  identity: DeviceIdentity;
  firmware: string;
  faults: FaultBook;
}

/** Start `items` with at most `limit` in flight. */
async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += limit) await Promise.all(items.slice(i, i + limit).map(fn));
}

export function createFleet(options: FleetOptions): Fleet {
  if (!Number.isInteger(options.devices) || options.devices < 0) {
    throw new AppError(ErrorCode.USAGE, `devices: expected an integer >= 0, got ${options.devices}`);
  }
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? pino({ level: 'silent' });
  const tuning: DeviceTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const prng = createPrng(options.seed ?? 1);
  const network = new Map<string, NetworkEntry>();
  const usb = new Map<string, UsbEntry>();
  const order: string[] = [];
  const emitter = new EventEmitter();
  let control: ControlApi | undefined;
  let traps: TrapSender | undefined;
  let isStarted = false;

  const models = pickModels(options.devices, prng, options.models);
  const taken = new Set<string>();
  const identities = models.map((model) => ({
    identity: createIdentity(model, prng, options.firmware, taken),
    prng: prng.fork(),
  }));

  function info(serial: string): SimDeviceInfo {
    const u = usb.get(serial);
    if (u) {
      const usbInfo: SimUsbDeviceInfo = {
        serial,
        model: 'StudioUSB',
        firmware: u.firmware,
        usb: { vendorId: POLY_USB_VENDOR_ID, productId: STUDIO_USB_PRODUCT_ID },
        faults: u.faults.list(),
      };
      return usbInfo;
    }
    const e = network.get(serial)!;
    const id = e.device.identity;
    return {
      serial,
      model: id.model as SimNetworkDeviceInfo['model'],
      firmware: id.firmware,
      systemName: id.systemName,
      mac: id.mac,
      address: host,
      restUrl: `https://${host}:${e.rest.port}`,
      restPort: e.rest.port,
      snmpPort: e.snmp.port,
      sshPort: e.ssh.port,
      username: id.username,
      password: id.password,
      snmpCommunity: id.snmpCommunity,
      snmpV3: { ...id.snmpV3 },
      sshHostKey: e.ssh.hostPublicKey,
      peripherals: id.camera.serial ? [{ kind: 'camera', model: id.camera.model, serial: id.camera.serial }] : [],
      faults: e.device.faults.list(),
    };
  }

  function faultBook(serial: string): FaultBook {
    const book = network.get(serial)?.device.faults ?? usb.get(serial)?.faults;
    if (!book) throw new AppError(ErrorCode.UNKNOWN_SERIAL, `serial: unknown device "${serial}"`);
    return book;
  }

  function networkDevice(serial: string): SimDevice {
    const d = network.get(serial)?.device;
    if (!d) throw new AppError(ErrorCode.UNKNOWN_SERIAL, `serial: unknown networked device "${serial}"`);
    return d;
  }

  Object.defineProperty(emitter, 'controlUrl', {
    get(): string {
      if (!control) throw new AppError(ErrorCode.INTERNAL, 'controlUrl: the fleet is not started');
      return control.url;
    },
  });
  const fleet: Fleet = Object.assign(emitter as EventEmitter & { readonly controlUrl: string }, {
    async start(): Promise<void> {
      if (isStarted) return;
      isStarted = true;
      const started = Date.now();
      const sharedTls: TlsMaterial = await generateTls();
      traps = createTrapSender(options.trapTarget, logger, (trap: SentTrap) => emitter.emit('trap', trap));
      for (const { identity, prng: devicePrng } of identities) {
        order.push(identity.serial);
        const log = logger.child({ serial: identity.serial });
        if (identity.model === 'StudioUSB') {
          const book = new FaultBook(clock, (fault, phase) =>
            emitter.emit('fault', { serial: identity.serial, kind: fault.kind, phase, value: fault.value }),
          );
          usb.set(identity.serial, { identity, firmware: '1.6.0.0051', faults: book });
          continue;
        }
        const device = new SimDevice(
          identity,
          clock,
          devicePrng,
          tuning,
          sharedTls,
          () => generateTls(identity.systemName),
          log,
        );
        const entry: NetworkEntry = {
          device,
          rest: createRestServer(device, host),
          snmp: createSnmpServer(device, host),
          ssh: createSshServer(device, host),
        };
        device.on('fault', (fault: ActiveFault, phase: 'start' | 'end') => {
          const event: FaultEvent = { serial: identity.serial, kind: fault.kind, phase };
          if (fault.value !== undefined) event.value = fault.value;
          emitter.emit('fault', event);
        });
        device.on('boot', () => emitter.emit('boot', { serial: identity.serial }));
        device.on('down', () => emitter.emit('down', { serial: identity.serial }));
        device.on('call', (phase: 'start' | 'end') => emitter.emit('call', { serial: identity.serial, phase }));
        entry.unwire = wireTraps(device, traps);
        network.set(identity.serial, entry);
      }
      try {
        await inBatches([...network.values()], 50, async (e) => {
          await Promise.all([e.rest.start(), e.snmp.start(), e.ssh.start()]);
          e.device.start();
        });
        control = createControlApi(fleet, { host, port: options.controlPort ?? 0, logger });
        await control.start();
      } catch (err) {
        // a port taken: close what did start, or the process never exits
        control = undefined;
        await fleet.stop();
        throw err;
      }
      logger.info({ devices: order.length, ms: Date.now() - started, controlUrl: control.url }, 'fleet started');
    },
    async stop(): Promise<void> {
      if (!isStarted) return;
      isStarted = false;
      await control?.stop();
      control = undefined;
      await Promise.all(
        [...network.values()].map(async (e) => {
          e.unwire?.();
          e.device.stop();
          await Promise.all([e.rest.stop(), e.snmp.stop(), e.ssh.stop()]);
        }),
      );
      for (const u of usb.values()) u.faults.clear();
      traps?.close();
      traps = undefined;
      network.clear();
      usb.clear();
      order.length = 0;
      logger.info('fleet stopped');
    },
    devices(): SimDeviceInfo[] {
      return order.map(info);
    },
    device(serial: string): SimDevice | undefined {
      return network.get(serial)?.device;
    },
    injectFault(serial: string, spec: { kind: string; durationMs?: number; value?: number }): void {
      const book = faultBook(serial);
      const parsed = parseFaultSpec(spec);
      if (!parsed.ok) throw new AppError(ErrorCode.PAYLOAD_INVALID, parsed.error);
      book.inject(parsed.spec);
    },
    clearFaults(serial: string): void {
      faultBook(serial).clear();
    },
    startCall(serial: string, callOptions: { farSiteName?: string; lossPct?: number } = {}): void {
      networkDevice(serial).startCall(callOptions);
    },
    endCall(serial: string): void {
      networkDevice(serial).endCall('local');
    },
    setTrapTarget(serial: string | undefined, target: TrapTarget | undefined): void {
      if (!traps) throw new AppError(ErrorCode.INTERNAL, 'setTrapTarget: the fleet is not started');
      for (const s of serial === undefined ? network.keys() : [networkDevice(serial).serial])
        traps.setTarget(s, target);
    },
    async writeUsbSysfs(dir: string, serials?: readonly string[]): Promise<string[]> {
      const bars: UsbBarRecord[] = [...usb.values()]
        .filter((u) => !u.faults.has('power-off'))
        .filter((u) => serials === undefined || serials.includes(u.identity.serial))
        .map((u) => ({ serial: u.identity.serial, firmware: u.firmware }));
      return writeUsbSysfs(dir, bars);
    },
  });
  return fleet;
}
