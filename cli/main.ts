/**
 * `hezo <command>`: dispatches to each part's entry, loaded lazily so `hezo --help` starts fast.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or config error (one clear line on stderr).
 */
import { AppError, ErrorCode, isAppError } from '../protocols/errors.ts';

export interface CommandSpec {
  summary: string;
  usage: string;
  run: (args: string[]) => Promise<number>;
}

export const COMMANDS: Record<string, CommandSpec> = {
  demo: {
    summary: 'the whole product on embedded defaults: hub + simulated fleet + agent + NOC page',
    usage: 'hezo demo [--devices N] [--port P] [--mqtt-port P] [--data DIR] [--seed S]',
    run: async (args) => (await import('./demo.ts')).runDemo(args),
  },
  hub: {
    summary: 'the hub alone (embedded broker, detection, tickets, API, NOC page)',
    usage: 'hezo hub --config FILE',
    run: async (args) => (await import('../hub/main.ts')).runHub(args),
  },
  agent: {
    summary: 'one agent polling Poly devices and reporting over MQTT',
    usage: 'hezo agent --config FILE [--once]',
    run: async (args) => (await import('../agent/main.ts')).runAgent(args),
  },
  sim: {
    summary: 'a simulated fleet of Poly devices with fault injection',
    usage:
      'hezo sim --devices N [--port P] [--seed S] [--agent-config FILE --mqtt-url URL [--agent-id A] [--agent-password P]] [--hub-config FILE]',
    run: async (args) => (await import('../simulator/main.ts')).runSim(args),
  },
  'broker-acl': {
    summary: "an external broker's ACL/users from the hub config (agents publish only under their own topics)",
    usage: 'hezo broker-acl --config FILE --format mosquitto|nats|emqx [--out DIR]',
    run: async (args) => (await import('../hub/broker/acl-cli.ts')).runBrokerAcl(args),
  },
  sla: {
    summary: 'SLA clock arithmetic: `hezo sla deadlines --priority P1|P2|P3 --opened ISO ...`',
    usage:
      'hezo sla deadlines --priority P1|P2|P3 --opened ISO [--acknowledged ISO] [--accepted ISO] [--delivered ISO]',
    run: async (args) => (await import('../hub/tickets/sla-cli.ts')).runSla(args),
  },
  user: {
    summary: 'people: `hezo user add NAME --role R [--customer C]`, `user list|remove NAME|passwd NAME`',
    usage:
      'hezo user add NAME --role admin|engineer|customer|wall [--customer C] [--customers A,B] --config FILE ' +
      '(password from HEZO_USER_PASSWORD or stdin) | hezo user list|remove NAME|passwd NAME --config FILE',
    run: async (args) => (await import('../hub/people/cli.ts')).runUser(args),
  },
  import: {
    summary: 'customers, contracts and devices from CSV in one transaction (every bad row named; none imported then)',
    usage: 'hezo import FILE.csv --config FILE',
    run: async (args) => (await import('../hub/registry/import-cli.ts')).runImport(args),
  },
  token: {
    summary: 'personal API tokens: `hezo token create USER [--label L]`, `token list [USER]`, `token revoke ID`',
    usage:
      'hezo token create USER [--label L] --config FILE | hezo token list [USER] | hezo token revoke ID --config FILE',
    run: async (args) => (await import('../hub/people/cli.ts')).runToken(args),
  },
};

export function helpText(): string {
  const lines = ['Usage: hezo <command> [options]', '', 'Commands:'];
  for (const [name, spec] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)} ${spec.summary}`);
  lines.push('', 'Run `hezo <command> --help` for the options of one command.');
  lines.push('Environment: HEZO_API_TOKEN (hub admin token), HEZO_DATA_DIR (data folder).');
  return lines.join('\n');
}

function fail(err: unknown): number {
  if (isAppError(err) && (err.code === ErrorCode.USAGE || err.code === ErrorCode.CONFIG_INVALID)) {
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`hezo: ${message}\n`);
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${helpText()}\n`);
    return name === undefined ? 2 : 0;
  }
  const spec = COMMANDS[name];
  if (spec === undefined) {
    return fail(new AppError(ErrorCode.USAGE, `hezo: unknown command "${name}" (try hezo --help)`));
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`Usage: ${spec.usage}\n  ${spec.summary}\n`);
    return 0;
  }
  try {
    return await spec.run(rest);
  } catch (err) {
    return fail(err);
  }
}
