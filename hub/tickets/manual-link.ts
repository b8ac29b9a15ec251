/**
 * A phone, e-mail or portal ticket for a device whose automatic ticket is still open is not a second ticket
 * (issue 15): the report is recorded on the automatic ticket (who reported what, by which channel), which the
 * caller returns with `linkedTo` set to its id.
 */
import type { TicketRow, TicketStore } from './store.ts';

export interface ManualReport {
  channel: 'phone' | 'portal' | 'email';
  serial: string;
  priority: string;
  reporter: string;
  description: string;
}

/** The open automatic ticket of the serial with the report added to its history, or undefined. */
export async function linkToOpenAuto(
  store: TicketStore,
  autoKey: string,
  report: ManualReport,
  atIso: string,
): Promise<TicketRow | undefined> {
  const existing = await store.findOpenAuto(report.serial, autoKey);
  if (existing === undefined) return undefined;
  return store.updateTicket(
    existing.seq,
    (current) => ({
      patch: {},
      history: [
        {
          at: atIso,
          kind: 'note',
          from: current.state,
          to: current.state,
          actor: report.reporter,
          note: `also reported by ${report.channel} (${report.priority}) by ${report.reporter}: ${report.description} (linked to this automatic ticket instead of opening a second one)`,
        },
      ],
    }),
    atIso,
  );
}
