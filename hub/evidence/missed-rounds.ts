/**
 * Evidence rounds that never started (issue 16). A ticket's first round starts from the `ticket` bus event right
 * after the ticket is stored; a node killed between the two stores the ticket and asks nothing, and no node ever
 * learns it (its collection row does not exist, so nothing is "interrupted" or "waiting"). The holder of the
 * ticket's site therefore looks for open tickets that should have a round and have no collection at all: when it
 * starts, and when it gains a partition (the dead node's sites). A round is started for each, as it would have
 * been at opening.
 */
import type { Logger } from 'pino';
import type { TicketView } from '../types.ts';
import { startsEvidenceRound } from './evidence-trigger.ts';

export interface MissedRoundsDeps {
  /** Open tickets without any evidence collection row (store). */
  openWithoutCollection(): Promise<Pick<TicketView, 'id' | 'serial' | 'channel' | 'site'>[]>;
  /** This node runs the site's automatic duties. */
  holds(site: string): boolean;
  /** An agent watches the device (a person's ticket gets a round only then). */
  isMonitored(serial: string): boolean;
  startRound(ticketId: string, serial: string): Promise<void>;
  logger: Logger;
}

/** Start the rounds this node owes; resolves with how many it started. */
export async function startMissedRounds(deps: MissedRoundsDeps): Promise<number> {
  const owed = (await deps.openWithoutCollection()).filter(
    (t) => deps.holds(t.site ?? '') && startsEvidenceRound(t, 'opened', deps.isMonitored(t.serial)),
  );
  for (const t of owed) await deps.startRound(t.id, t.serial);
  if (owed.length > 0) {
    deps.logger.info(
      { tickets: owed.map((t) => t.id) },
      'evidence rounds started for open tickets that had none (their node stopped before asking)',
    );
  }
  return owed.length;
}
