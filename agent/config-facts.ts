/** What the running agent reads from its (already checked) config, without the schema: kept apart from config.ts. */
import type { AgentConfig, AgentDevice } from '../protocols/agent-config.ts';

/** A USB-attached bar (no network interface): polled through sysfs only. */
export function isUsbDevice(device: AgentDevice): boolean {
  return device.model === 'StudioUSB';
}

/** Every secret value in the config: masked in attachments and never logged. */
export function collectSecrets(config: AgentConfig): string[] {
  const out: string[] = [];
  if (config.mqtt.password) out.push(config.mqtt.password);
  for (const d of config.devices) {
    if (d.rest?.password) out.push(d.rest.password);
    if (d.snmp?.community) out.push(d.snmp.community);
    if (d.snmp?.v3) out.push(d.snmp.v3.authKey, d.snmp.v3.privKey);
    if (d.ssh?.password) out.push(d.ssh.password);
  }
  return [...new Set(out)];
}
