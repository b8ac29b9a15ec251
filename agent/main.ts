/**
 * `hezo agent --config FILE [--once]`: the only entry of the agent process. Reads the config, creates the
 * root logger (NDJSON on stderr, secrets redacted), runs the agent until SIGINT/SIGTERM.
 * `--once` polls every device once and prints the health records as JSON lines on stdout, and checks the
 * broker login with the agent's credentials: when it fails, it says why on stderr and exits 1.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { parseFlags, requireFlag } from '../protocols/cli-flags.ts';
import { AppError, ErrorCode } from '../protocols/errors.ts';
import { redactText } from '../protocols/redact.ts';
import { createAgent } from './agent.ts';
import { checkBrokerLogin } from './broker-login.ts';
import { loadAgentConfig } from './config.ts';
import { collectSecrets } from './config-facts.ts';

/** Paths pino masks wherever they appear in a log line (up to the depth config objects nest). */
export const REDACT_PATHS = [
  'password',
  'community',
  'authKey',
  'privKey',
  'sessionId',
  'session_id',
  'xsrfToken',
  '*.password',
  '*.community',
  '*.authKey',
  '*.privKey',
  '*.sessionId',
  '*.xsrfToken',
  '*.*.password',
  '*.*.community',
  '*.*.authKey',
  '*.*.privKey',
  '*.*.sessionId',
  '*.*.*.password',
  '*.*.*.authKey',
  '*.*.*.privKey',
  'devices[*].rest.password',
  'devices[*].snmp.community',
  'devices[*].snmp.v3.authKey',
  'devices[*].snmp.v3.privKey',
  'devices[*].ssh.password',
  'mqtt.password',
  'headers.cookie',
  '*.headers.cookie',
];

export function createRootLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { name: 'agent', level, redact: { paths: REDACT_PATHS, censor: '***' } },
    destination ?? pino.destination(2),
  );
}

/** Strict flags: an unknown flag or a missing `--config` is a USAGE error (exit 2). */
function parseAgentFlags(args: string[]): { config: string; once: boolean } {
  const { values, positionals } = parseFlags('agent', args, {
    config: { type: 'string', short: 'c' },
    once: { type: 'boolean' },
  });
  if (positionals.length > 0) {
    throw new AppError(ErrorCode.USAGE, `hezo agent: unexpected argument "${positionals[0]}"`);
  }
  return { config: requireFlag('agent', 'config', values.config as string | undefined), once: values.once === true };
}

export async function runAgent(args: string[]): Promise<number> {
  const values = parseAgentFlags(args);
  const file = values.config;
  const config = loadAgentConfig(file, process.env);
  const logger = createRootLogger(process.env.HEZO_LOG_LEVEL ?? (values.once ? 'warn' : 'info'));
  const agent = createAgent(config, { logger });

  if (values.once) {
    let login: Awaited<ReturnType<typeof checkBrokerLogin>>;
    try {
      const [records, checked] = await Promise.all([agent.pollOnce(), checkBrokerLogin(config)]);
      login = checked;
      for (const record of records) process.stdout.write(`${JSON.stringify(record)}\n`);
    } finally {
      await agent.stop();
    }
    if (!login.ok) {
      const who = config.mqtt.username === undefined ? 'without a username' : `as "${config.mqtt.username}"`;
      logger.error({ url: config.mqtt.url, reason: login.reason, code: login.code ?? null }, 'mqtt login failed');
      logger.flush();
      throw new AppError(
        login.isRefusal ? ErrorCode.UNAUTHORIZED : ErrorCode.INTERNAL,
        redactText(
          `agent --once: ${login.isRefusal ? 'the broker refused the login' : 'cannot reach the broker'} at ${config.mqtt.url} ${who}: ${login.reason}`,
          collectSecrets(config),
        ),
      );
    }
    return 0;
  }

  await agent.start();
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info({ signal }, 'shutting down');
  await agent.stop();
  logger.flush();
  return 0;
}
