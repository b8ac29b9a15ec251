/**
 * Stuck evidence transfers resume on their own (issue 19). Before, an incomplete transfer was resumed only when
 * its agent came back online; a transfer that stalled while the agent stayed connected (a lost chunk burst, a
 * disk-full hub that refused chunks, an agent-side hiccup) waited forever. Every `everyMs` this watcher looks at
 * the transfers still `receiving`: one that made no progress since the previous look, whose agent is online, is
 * resumed from its first missing chunk (the same `collect-logs` resume the reconnect path sends). One that has every
 * chunk but is still receiving (its store failed: disk full, database away) is stored again from its temp file, and
 * never resumed from `total`, which would tell the agent to drop its copy.
 */
import type { Clock } from '../../protocols/clock.ts';
import { nextMissingSeq } from './chunk-map.ts';
import type { TransferRow } from './store.ts';
import { isWhollyReceived } from './unstored-attachments.ts';

export interface StuckTransferDeps {
  clock: Clock;
  everyMs: number;
  transfersReceiving(): Promise<TransferRow[]>;
  isOnline(agentId: string): boolean;
  resume(
    target: { site: string; agentId: string },
    serial: string,
    from: Record<string, number>,
    ticketIds: string[],
  ): Promise<void>;
  /** Store again a transfer that has every chunk (assembler.retryStore). */
  retryStore(transferId: string): Promise<void>;
  track(task: Promise<void>): void;
}

/** Starts the watcher; returns its stop function. */
export function watchStuckTransfers(deps: StuckTransferDeps): () => void {
  /** transferId -> chunks received at the previous look. */
  let seen = new Map<string, number>();
  let cancel: (() => void) | undefined;
  let isStopped = false;
  const look = async (): Promise<void> => {
    const rows = await deps.transfersReceiving();
    const next = new Map<string, number>();
    const groups = new Map<
      string,
      { site: string; agentId: string; serial: string; from: Record<string, number>; tickets: Set<string> }
    >();
    for (const row of rows) {
      next.set(row.transferId, row.receivedCount);
      const before = seen.get(row.transferId);
      if (before === undefined || before !== row.receivedCount) continue;
      if (isWhollyReceived(row)) {
        deps.track(deps.retryStore(row.transferId));
        continue;
      }
      if (!deps.isOnline(row.agentId)) continue;
      const key = `${row.site}/${row.agentId}/${row.serial}`;
      const g = groups.get(key) ?? {
        site: row.site,
        agentId: row.agentId,
        serial: row.serial,
        from: {},
        tickets: new Set(),
      };
      g.from[row.transferId] = nextMissingSeq(row);
      g.tickets.add(row.ticketId);
      groups.set(key, g);
    }
    seen = next;
    for (const g of groups.values()) {
      deps.track(deps.resume({ site: g.site, agentId: g.agentId }, g.serial, g.from, [...g.tickets]));
    }
  };
  // the next look is armed when this one is done (a slow database never stacks looks up), even when it failed
  const tick = (): void => {
    deps.track(
      look().finally(() => {
        if (!isStopped) cancel = deps.clock.setTimer(deps.everyMs, tick);
      }),
    );
  };
  cancel = deps.clock.setTimer(deps.everyMs, tick);
  return () => {
    isStopped = true;
    cancel?.();
  };
}
