/**
 * `GET /api/reports/sla?customer=C&month=YYYY-MM[&format=csv]`: the monthly SLA report per contract (JSON, or CSV
 * as a download). The printable page is dashboards/web/report.html (it reads the JSON).
 */
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { parseOrThrow } from '../../protocols/validation.ts';
import { createCalendarResolver } from '../calendar/business-calendar.ts';
import type { BusinessCalendarConfig } from '../config.ts';
import type { HubContext, HubModule } from '../context.ts';
import { STORES_ON_SQL } from '../store/open-store.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { loadReportInput } from './report-data.ts';
import { buildSlaReport, monthRange } from './sla-report.ts';
import { slaReportCsv } from './sla-report-csv.ts';

const ReportQuery = z.strictObject({
  customer: z.string().min(1).max(64),
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected YYYY-MM'),
  format: z.enum(['json', 'csv']).default('json'),
});

export function createReportsModule(ctx: HubContext): HubModule {
  const overrides = new Map<string, BusinessCalendarConfig>();
  for (const c of ctx.config.customers) if (c.calendar !== undefined) overrides.set(c.id, c.calendar);
  const calendarFor = createCalendarResolver(ctx.config.calendar, overrides);
  // the tickets tables are on ctx.sql; the device transitions follow the outage store wherever it lives
  const isOutageOnSql = (STORES_ON_SQL as readonly string[]).includes('outage') || ctx.sql.dialect === 'sqlite';
  const sql = { tickets: ctx.sql, transitions: isOutageOnSql ? ctx.sql : new SqliteStore(ctx.db) };

  ctx.http.get(
    '/api/reports/sla',
    { config: { access: 'read', scope: { customer: 'query.customer' } } },
    async (request, reply) => {
      const q = parseOrThrow(ReportQuery, request.query ?? {}, ErrorCode.PAYLOAD_INVALID, 'query');
      const customer = ctx.config.customers.find((c) => c.id === q.customer);
      if (customer === undefined) throw new AppError(ErrorCode.NOT_FOUND, `customer: unknown customer "${q.customer}"`);
      const registry = ctx.services.registry;
      if (registry === undefined) throw new AppError(ErrorCode.INTERNAL, 'device registry is not available');
      const cal = calendarFor(customer.id);
      const { fromMs, toMs } = monthRange(q.month, cal.timeZone);
      const input = await loadReportInput(sql, registry, {
        customer: customer.id,
        customerName: customer.name,
        month: q.month,
        fromMs,
        toMs,
        nowMs: ctx.clock.now(),
      });
      const report = buildSlaReport(input, cal);
      if (q.format === 'json') return report;
      return reply
        .type('text/csv; charset=utf-8')
        .header('Content-Disposition', `attachment; filename="sla-${customer.id}-${q.month}.csv"`)
        .send(slaReportCsv(report));
    },
  );

  return { name: 'reports' };
}
