/**
 * Entry of dist/agent.js: the agent alone as one bundled file on plain node,
 * `node --enable-source-maps dist/agent.js --config FILE [--once]` (same flags, output and exit codes as `hezo agent`).
 * Imports nothing of cli/ (its lazy imports would pull the hub and simulator into this file).
 */
import { runAgent } from '../agent/main.ts';
import { ErrorCode, isAppError } from '../protocols/errors.ts';

async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write('Usage: node dist/agent.js --config FILE [--once]\n');
    return 0;
  }
  try {
    return await runAgent(args);
  } catch (err) {
    if (isAppError(err) && (err.code === ErrorCode.USAGE || err.code === ErrorCode.CONFIG_INVALID)) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    process.stderr.write(`hezo: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

process.exitCode = await run(process.argv.slice(2));
