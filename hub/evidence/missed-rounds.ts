/**
 * Evidence rounds that never started (issue 16). A ticket's first round starts from the `ticket` bus event right
 * after the ticket is stored; a node killed between the two stores the ticket and asks nothing, and no node ever
 * learns it (its collection row does not exist, so nothing is "interrupted" or "waiting"). The holder of the
 * ticket's site therefore looks for open tickets that should have a round and have no collection at all: when it
 * starts, and when it gains a partition (the dead node's sites). A round is started for each, as it would have
 * been at opening.
 *
 * And collections another node left `collecting` longer than a collection can take (its node died for good, or has
 * not come back): the holder takes them over - they wait for their agent here, and an online agent is asked again
 * at once (the same path as an agent coming back).
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import { every } from '../../protocols/clock.ts';
import type { TicketView } from '../types.ts';
import { startsEvidenceRound } from './evidence-trigger.ts';

/**
 * A ticket opened by this process less than this long ago is left to the round its opening started (that round
 * writes its collection row within milliseconds; a sweep racing it would ask twice).
 */
export const LIVE_ROUND_GRACE_MS = 30_000;

export interface MissedRoundsDeps {
  /** Open tickets without any evidence collection row (store). */
  openWithoutCollection(): Promise<Pick<TicketView, 'id' | 'serial' | 'channel' | 'site' | 'openedAt'>[]>;
  /** When this process started, and now (ms): tickets opened since the start are owed only after the grace. */
  bootMs: number;
  now(): number;
  /** This node runs the site's automatic duties. */
  holds(site: string): boolean;
  /** An agent watches the device (a person's ticket gets a round only then). */
  isMonitored(serial: string): boolean;
  startRound(ticketId: string, serial: string): Promise<void>;
  logger: Logger;
}

/** Start the rounds this node owes; resolves with how many it started. */
export async function startMissedRounds(deps: MissedRoundsDeps): Promise<number> {
  const graceEnd = deps.now() - LIVE_ROUND_GRACE_MS;
  const owed = (await deps.openWithoutCollection()).filter((t) => {
    const openedMs = Date.parse(t.openedAt);
    const isLeftToLiveRound = openedMs >= deps.bootMs && openedMs > graceEnd;
    return (
      !isLeftToLiveRound && deps.holds(t.site ?? '') && startsEvidenceRound(t, 'opened', deps.isMonitored(t.serial))
    );
  });
  for (const t of owed) await deps.startRound(t.id, t.serial);
  if (owed.length > 0) {
    deps.logger.info(
      { tickets: owed.map((t) => t.id) },
      'evidence rounds started for open tickets that had none (their node stopped before asking)',
    );
  }
  return owed.length;
}

export interface OrphanedCollectionsDeps {
  /** Collections another node left `collecting` since before `before`. */
  othersStaleCollecting(
    before: string,
  ): Promise<{ ticketId: string; serial: string; node: string; updatedAt: string }[]>;
  takeOver(row: { ticketId: string; node: string; updatedAt: string }, at: string): Promise<boolean>;
  /** The agent that watches the device (its site decides who holds the duty). */
  agentOf(serial: string): { agentId: string; site: string } | undefined;
  holds(site: string): boolean;
  isOnline(agentId: string): boolean;
  /** Ask an agent again for what waits for it (collector.agentReturned). */
  askAgain(agentId: string, site: string): Promise<void>;
  now(): number;
  /** A collection still `collecting` after this long was left by a node that stopped. */
  staleAfterMs: number;
  logger: Logger;
}

/** Take over what dead nodes left collecting for this node's sites; resolves with how many were taken. */
export async function resumeOrphanedCollections(deps: OrphanedCollectionsDeps): Promise<number> {
  const now = deps.now();
  const rows = await deps.othersStaleCollecting(new Date(now - deps.staleAfterMs).toISOString());
  const agents = new Map<string, string>();
  let taken = 0;
  for (const row of rows) {
    const agent = deps.agentOf(row.serial);
    if (agent === undefined || !deps.holds(agent.site)) continue;
    if (!(await deps.takeOver(row, new Date(now).toISOString()))) continue;
    taken++;
    deps.logger.info(
      { ticket: row.ticketId, from: row.node },
      'evidence collection taken over from a stopped hub node',
    );
    if (deps.isOnline(agent.agentId)) agents.set(agent.agentId, agent.site);
  }
  for (const [agentId, site] of agents) await deps.askAgain(agentId, site);
  return taken;
}

export interface OwedRoundsSweeperDeps {
  orphaned: OrphanedCollectionsDeps;
  missed: MissedRoundsDeps;
  clock: Clock;
  /** Every this long a sweep runs anyway (a node gone for good: its collections age out). */
  everyMs: number;
  /** After `soon()`, one sweep this much later (a wave of agents coming online: one sweep). */
  soonMs: number;
  /** Background work the module waits for at stop. */
  track(task: Promise<unknown>): void;
  logger: Logger;
}

/**
 * The sweeps of what dead nodes left: one at a time (a later one sees the rows the earlier one wrote), now, every
 * `everyMs`, and on `sweep()` (a partition gained) or `soon()` (an agent online). `stop()` cancels the timers.
 */
export function startOwedRoundsSweeper(deps: OwedRoundsSweeperDeps): {
  sweep(): void;
  soon(): void;
  stop(): void;
} {
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweep = (): void => {
    sweeping = sweeping
      .then(async () => {
        await resumeOrphanedCollections(deps.orphaned);
        await startMissedRounds(deps.missed);
      })
      .catch((err: unknown) => deps.logger.error({ err }, 'evidence rounds owed could not be started'));
    deps.track(sweeping);
  };
  let cancelSoon: (() => void) | undefined;
  const stopEvery = every(deps.clock, deps.everyMs, sweep);
  sweep();
  return {
    sweep,
    soon() {
      cancelSoon ??= deps.clock.setTimer(deps.soonMs, () => {
        cancelSoon = undefined;
        sweep();
      });
    },
    stop() {
      stopEvery();
      cancelSoon?.();
    },
  };
}
