/** `mqtt.allowAnonymous` (with `insecureDevelopmentOnly`): a warning at start and every minute while it runs. */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import type { HubConfig } from '../config.ts';

export const INSECURE_WARNING_EVERY_MS = 60_000;

/** Starts the warnings when the config asks for anonymous MQTT; returns the stop function. */
export function startInsecureWarning(config: Readonly<HubConfig>, clock: Clock, logger: Logger): () => void {
  if (!config.mqtt.allowAnonymous) return () => {};
  const log = logger.child({ component: 'broker' });
  let cancel: (() => void) | undefined;
  const warn = () => {
    log.warn(
      { allowAnonymous: true, insecureDevelopmentOnly: config.mqtt.insecureDevelopmentOnly },
      'INSECURE: anonymous MQTT clients are accepted with no authentication and no per-agent topic ACL (development only)',
    );
    cancel = clock.setTimer(INSECURE_WARNING_EVERY_MS, warn);
  };
  warn();
  return () => cancel?.();
}
