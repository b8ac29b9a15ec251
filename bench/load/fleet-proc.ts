/**
 * A simulated fleet in its own process (`node --import tsx bench/load/fleet-proc.ts`), usually on core 1.
 * IPC: {cmd:'start', devices, seed} -> {ev:'ready', devices: SimDeviceInfo[]};
 *      {cmd:'fault', serial, kind, value?} -> {ev:'faulted', serial, atMs};  {cmd:'clear'} -> {ev:'cleared'};
 *      {cmd:'trap-target', port} -> {ev:'trap-target'} (every device sends its traps to 127.0.0.1:port).
 */
import { createFleet, type Fleet } from '../../simulator/fleet.ts';

let fleet: Fleet | undefined;
const send = (m: Record<string, unknown>) => process.send?.(m);

process.on('message', (m: { cmd: string } & Record<string, any>) => {
  switch (m.cmd) {
    case 'start':
      fleet = createFleet({
        devices: m.devices,
        seed: m.seed ?? 1,
        controlPort: 0,
        models: m.models ?? ['StudioX50', 'StudioX30'],
        tuning: { ...(m.autoCalls === false ? { autoCalls: false } : {}), ...m.tuning },
      });
      void fleet.start().then(() => send({ ev: 'ready', devices: fleet!.devices() }));
      return;
    case 'fault':
      fleet?.injectFault(m.serial, { kind: m.kind, ...(m.value !== undefined ? { value: m.value } : {}) });
      send({ ev: 'faulted', serial: m.serial, atMs: Date.now() });
      return;
    case 'trap-target':
      fleet?.setTrapTarget(undefined, { host: '127.0.0.1', port: m.port });
      send({ ev: 'trap-target' });
      return;
    case 'clear':
      for (const d of fleet?.devices() ?? []) fleet?.clearFaults(d.serial);
      send({ ev: 'cleared' });
      return;
  }
});
process.on('disconnect', () => {
  void (fleet?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
});
process.on('SIGTERM', () => {
  void (fleet?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
});
