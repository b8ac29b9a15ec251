/**
 * B11: one hub node of a cluster in its own process (so it can be pinned and `kill -9`ed).
 * IPC: {cmd:'start', config (raw HubConfig), dbFile} -> {ev:'started', urls};
 *      {cmd:'stats'} -> {ev:'stats', health, partitions, firstHealthAfter: {site: ms}} where firstHealthAfter holds,
 *      per site, the wall time of the first health record that reached this node's detector after `since`
 *      ({cmd:'since', at} sets it and clears the map).
 */
import { HubConfig } from '../../hub/config.ts';
import { createHub, type Hub } from '../../hub/hub.ts';
import { buildConfig } from '../../protocols/config-common.ts';
import { silentLogger } from './common.ts';

let hub: Hub | undefined;
let health = 0;
let since = Number.POSITIVE_INFINITY;
const firstHealthAfter = new Map<string, number>();
const send = (m: Record<string, unknown>) => process.send?.(m);

process.on('message', (m: { cmd: string } & Record<string, any>) => {
  if (m.cmd === 'start') {
    const config = buildConfig(HubConfig, m.config) as HubConfig;
    hub = createHub(config, { logger: silentLogger(), dbFile: m.dbFile });
    hub.ctx.bus.on('health', ({ record }) => {
      health += 1;
      if (!firstHealthAfter.has(record.site)) {
        const now = Date.now();
        if (now >= since) firstHealthAfter.set(record.site, now);
      }
    });
    hub.start().then(
      (urls) => send({ ev: 'started', urls }),
      (err: unknown) => send({ ev: 'failed', error: String(err) }),
    );
  } else if (m.cmd === 'since') {
    since = m.at as number;
    firstHealthAfter.clear();
    send({ ev: 'since' });
  } else if (m.cmd === 'stats') {
    send({
      ev: 'stats',
      health,
      partitions: hub?.ctx.services.cluster?.health().partitions ?? [],
      firstHealthAfter: Object.fromEntries(firstHealthAfter),
    });
  }
});
const stop = () => {
  void (hub?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
};
process.on('disconnect', stop);
process.on('SIGTERM', stop);
