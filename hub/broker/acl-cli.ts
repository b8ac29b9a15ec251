/**
 * `hezo broker-acl --config FILE --format mosquitto|nats|emqx [--out DIR]`: the broker's own ACL/user configuration
 * from the hub config's registry (acl-export.ts). Without `--out` it prints the ACL with no secrets (NATS: passwords
 * from the environment); with `--out` it writes the files, passwords included, with mode 0600.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFlags, requireFlag } from '../../protocols/cli-flags.ts';
import { loadConfig } from '../../protocols/config-common.ts';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { HUB_ENV_OVERRIDES, HubConfig } from '../config.ts';
import { ACL_FORMATS, type AclFormat, renderBrokerAcl } from './acl-export.ts';

function isAclFormat(value: string): value is AclFormat {
  return (ACL_FORMATS as readonly string[]).includes(value);
}

export function runBrokerAcl(args: string[]): Promise<number> {
  const { values } = parseFlags('broker-acl', args, {
    config: { type: 'string', short: 'c' },
    format: { type: 'string' },
    out: { type: 'string' },
  });
  const file = requireFlag('broker-acl', 'config', values.config as string | undefined);
  const format = requireFlag('broker-acl', 'format', values.format as string | undefined);
  if (!isAclFormat(format)) {
    throw new AppError(
      ErrorCode.USAGE,
      `hezo broker-acl: --format: expected one of ${ACL_FORMATS.join(', ')}, got "${format}"`,
    );
  }
  const config = loadConfig(HubConfig, file, process.env, HUB_ENV_OVERRIDES);
  const out = values.out as string | undefined;
  const { files, notes } = renderBrokerAcl(config, format, out !== undefined);
  if (out === undefined) {
    for (const content of Object.values(files)) process.stdout.write(content);
  } else {
    mkdirSync(out, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(join(out, name), content, { mode: 0o600 });
      process.stderr.write(`wrote ${join(out, name)}\n`);
    }
  }
  for (const note of notes) process.stderr.write(`${note}\n`);
  return Promise.resolve(0);
}
