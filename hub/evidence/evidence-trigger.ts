/**
 * Which ticket changes start an evidence round (logs + service tests, SLA-11): an automatic ticket opened or
 * escalated, and (issue 15) a phone, e-mail or portal ticket opened for a monitored device: the service's
 * verification needs them whoever reported the fault. A device no agent watches gets no round (nothing to ask).
 */
import type { TicketView } from '../types.ts';

export function startsEvidenceRound(
  ticket: Pick<TicketView, 'channel'>,
  change: string,
  isMonitored: boolean,
): boolean {
  if (ticket.channel === 'auto') return change === 'opened' || change === 'escalated';
  return change === 'opened' && isMonitored;
}
