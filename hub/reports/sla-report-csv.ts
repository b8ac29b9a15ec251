/** The monthly SLA report as one CSV (issue 15): `priority`, `ticket` and `room` rows under one header. */
import type { SlaReport } from './sla-report.ts';

const CSV_HEADER = [
  'kind',
  'contract',
  'priority',
  'ticket',
  'serial',
  'room',
  'tickets',
  'reaction_target_min',
  'reaction_min',
  'reaction_met',
  'reaction_missed',
  'update_target_min',
  'updates',
  'updates_late',
  'breaches',
  'availability_pct',
  'down_min',
  'unknown_min',
];

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  // Quote what needs it; a leading = + - @ is prefixed so spreadsheets never run it as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV: `priority` rows (counts per contract and priority), `ticket` rows, `room` rows (availability). */
export function slaReportCsv(report: SlaReport): string {
  const rows: unknown[][] = [CSV_HEADER];
  for (const c of report.contracts) {
    const contract = c.contract ?? 'none';
    for (const p of c.priorities) {
      rows.push([
        'priority',
        contract,
        p.priority,
        '',
        '',
        '',
        p.tickets,
        p.reactionTargetMin,
        p.reactionAvgMin,
        p.reactionMet,
        p.reactionMissed,
        p.updateTargetMin,
        p.updates,
        p.updatesLate,
        p.breaches,
        '',
        '',
        '',
      ]);
    }
    for (const t of c.tickets) {
      rows.push([
        'ticket',
        contract,
        t.priority,
        t.id,
        t.serial,
        t.room,
        1,
        '',
        t.reactionMin,
        t.reactionMet === null ? '' : t.reactionMet ? 1 : 0,
        t.reactionMet === false ? 1 : 0,
        '',
        t.updates,
        t.updatesLate,
        t.breached.join(' '),
        '',
        '',
        '',
      ]);
    }
    for (const r of c.rooms) {
      rows.push([
        'room',
        contract,
        '',
        '',
        r.serial,
        r.room,
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        r.availabilityPct,
        r.downMin,
        r.unknownMin,
      ]);
    }
  }
  return `${rows.map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}
