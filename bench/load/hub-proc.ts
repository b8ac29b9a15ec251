/**
 * A complete hub in its own process (so it can be SIGKILLed and restarted, and measured from /proc).
 * IPC: {cmd:'start', config (raw HubConfig), dbFile} -> {ev:'started', urls};
 *      {cmd:'stats'} -> {ev:'stats', rssMb, mqttClients, ticketsOpened, siteAlertsRaised, toDown, toUnknown, health}.
 */

import { HubConfig } from '../../hub/config.ts';
import { createHub, type Hub } from '../../hub/hub.ts';
import { buildConfig } from '../../protocols/config-common.ts';
import { silentLogger } from './common.ts';

let hub: Hub | undefined;
const counts = { ticketsOpened: 0, siteAlertsRaised: 0, toDown: 0, toUnknown: 0, health: 0 };
const send = (m: Record<string, unknown>) => process.send?.(m);

async function mqttClients(): Promise<number> {
  const metric = hub?.ctx.metrics.getSingleMetric('hezo_mqtt_clients');
  const value = await metric?.get();
  return value?.values[0]?.value ?? 0;
}

process.on('message', (m: { cmd: string } & Record<string, any>) => {
  if (m.cmd === 'start') {
    const config = buildConfig(HubConfig, m.config) as HubConfig;
    hub = createHub(config, { logger: silentLogger(), dbFile: m.dbFile });
    const { bus } = hub.ctx;
    bus.on('ticket', ({ change }) => {
      if (change === 'opened') counts.ticketsOpened += 1;
    });
    bus.on('site-alert', (a) => {
      if (a.status === 'raised') counts.siteAlertsRaised += 1;
    });
    bus.on('device-state', (t) => {
      if (t.to === 'down') counts.toDown += 1;
      if (t.to === 'unknown') counts.toUnknown += 1;
    });
    bus.on('health', () => {
      counts.health += 1;
    });
    void hub.start().then((urls) => send({ ev: 'started', urls }));
  } else if (m.cmd === 'stats') {
    void mqttClients().then((clients) =>
      send({ ev: 'stats', rssMb: process.memoryUsage.rss() / 2 ** 20, mqttClients: clients, ...counts }),
    );
  }
});
const stop = () => {
  void (hub?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
};
process.on('disconnect', stop);
process.on('SIGTERM', stop);
