/**
 * `hezo hub --config FILE`: the only place with a root logger, real ports and signal handling.
 * A bad config throws CONFIG_INVALID (the CLI prints one line naming the field and exits 2).
 */
import { pino } from 'pino';
import { parseFlags, requireFlag } from '../protocols/cli-flags.ts';
import { AppError, ErrorCode } from '../protocols/errors.ts';
import type { HubConfig } from './config.ts';
import { loadHubConfig } from './config-secrets.ts';
import { createHub } from './hub.ts';

/** Paths pino hides in every log line (secrets by name, at any of the first levels). */
export const REDACT_PATHS = [
  'password',
  'passwordHash',
  'passwordFile',
  'token',
  'readTokens',
  'community',
  '*.password',
  '*.passwordHash',
  '*.token',
  '*.readTokens',
  '*.community',
  '*.*.password',
  '*.*.token',
  '*.*.community',
  'database.url',
  '*.database.url',
  'req.headers.authorization',
  'headers.authorization',
];

/** Cross-field checks the schema cannot express. */
function checkConfig(config: Readonly<HubConfig>, file: string): void {
  const seen = new Set<string>();
  config.agents.forEach((agent, i) => {
    if (seen.has(agent.id))
      throw new AppError(ErrorCode.CONFIG_INVALID, `${file}: agents[${i}].id: duplicate agent id "${agent.id}"`);
    seen.add(agent.id);
  });
  if (config.mqtt.mode === 'external' && config.mqtt.url === undefined && config.mqtt.urls === undefined) {
    throw new AppError(
      ErrorCode.CONFIG_INVALID,
      `${file}: mqtt.url: expected the external broker URL when mqtt.mode is external`,
    );
  }
}

export async function runHub(args: string[]): Promise<number> {
  const { values } = parseFlags('hub', args, { config: { type: 'string', short: 'c' } });
  const file = requireFlag('hub', 'config', values.config as string | undefined);
  const config = loadHubConfig(file, process.env);
  checkConfig(config, file);

  const logger = pino({ name: 'hub', level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
  const hub = createHub(config, { logger });
  try {
    const urls = await hub.start();
    logger.info({ ...urls, config: file }, 'hub serving');
  } catch (err) {
    logger.error({ err }, 'hub failed to start');
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'signal received');
  await hub.stop();
  return 0;
}
