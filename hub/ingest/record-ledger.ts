/**
 * The record ledger (`diagnostics.recordLedger`): one line per health record that went through this node's detector,
 * `<agentId> <seq> <serial> <node>`, appended with a synchronous write. Its listener is added after the outage
 * module's (the detector), and ingest runs before a message's PUBACK (hub/broker/external.ts,
 * hub/cluster/partition-session.ts): a line is in the file (the kernel's page cache, which outlives a `kill -9` of
 * the process) before the broker learns the record was taken. So "every record the broker acknowledged to an
 * agent reached some node's detector" can be checked from outside, across node deaths.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Logger } from 'pino';
import type { HubModule } from '../context.ts';
import type { HubBus } from '../events.ts';

export interface RecordLedgerDeps {
  file: string | undefined;
  node: string;
  bus: HubBus;
  logger: Logger;
}

export function createRecordLedgerModule(deps: RecordLedgerDeps): HubModule {
  let fd: number | undefined;
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'record-ledger',
    async start() {
      if (deps.file === undefined) return;
      fd = openSync(deps.file, 'a');
      const out = fd;
      deps.logger.warn({ file: deps.file }, 'diagnostics.recordLedger: one line per health record is written');
      let failed = 0;
      unsubscribe = deps.bus.on('ingest:health', ({ agentId, message }) => {
        try {
          writeSync(out, `${agentId} ${message.seq} ${message.identity.serial} ${deps.node}\n`);
          if (failed > 0) deps.logger.warn({ file: deps.file, missed: failed }, 'record ledger written again');
          failed = 0;
        } catch (err) {
          // a full disk: the record goes on (the ledger is an aid, not the store); said once per failing stretch
          if (failed++ === 0) deps.logger.error({ err, file: deps.file }, 'record ledger not written; lines missing');
        }
      });
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
