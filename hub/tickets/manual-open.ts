/**
 * Manual tickets (phone, portal, e-mail; SLA-4, SLA-15, SLA-16): the device and contract checks, then the new
 * ticket, or the report recorded on the device's open automatic ticket (manual-link.ts). Writes only; the service
 * (service.ts) orders, re-arms and announces.
 */
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { Channel, Priority } from '../types.ts';
import { AUTO_KEY, type TicketWriterDeps } from './auto-open.ts';
import { initialClocks, nextDueMs } from './lifecycle.ts';
import { linkToOpenAuto } from './manual-link.ts';
import type { TicketRow } from './store.ts';

export interface ManualTicketInput {
  channel: Exclude<Channel, 'auto'>;
  serial: string;
  contract: string;
  priority: Priority;
  reporter: string;
  description: string;
}

/** The new ticket, or the open automatic ticket the report joined (`linked`). Errors are AppError (422). */
export async function openManualTicket(
  deps: TicketWriterDeps,
  input: ManualTicketInput,
  actor: string | undefined,
): Promise<{ row: TicketRow; isLinked: boolean }> {
  const registry = deps.registry();
  if (registry === undefined) throw new AppError(ErrorCode.INTERNAL, 'device registry is not available');
  const device = registry.get(input.serial);
  if (device === undefined) {
    throw new AppError(ErrorCode.UNKNOWN_SERIAL, `serial: unknown device serial "${input.serial}"`);
  }
  const contract = registry.contract(input.contract);
  if (contract === undefined) {
    throw new AppError(ErrorCode.CONTRACT_NOT_COVERING, `contract: unknown contract number "${input.contract}"`);
  }
  if (!contract.serials.includes(input.serial)) {
    throw new AppError(
      ErrorCode.CONTRACT_NOT_COVERING,
      `contract: contract "${input.contract}" does not cover serial "${input.serial}"`,
    );
  }
  const now = deps.clock.now();
  const at = new Date(now).toISOString();
  const cal = deps.calendarFor(device.customer);
  const today = cal.localDate(now);
  if (today < contract.start || today > contract.end) {
    throw new AppError(
      ErrorCode.CONTRACT_NOT_COVERING,
      `contract: contract "${input.contract}" is not active on ${today} (covers ${contract.start} to ${contract.end})`,
    );
  }
  // Issue 15: the device's automatic ticket is still open -> record the report there, no duplicate.
  const linked = await linkToOpenAuto(deps.store, AUTO_KEY, input, at);
  if (linked !== undefined) return { row: linked, isLinked: true };
  const clocks = initialClocks(input.priority, 'active', now, cal);
  const firstLine = input.description.split('\n')[0]!.slice(0, 100);
  const row = await deps.store.insertTicket(
    {
      serial: input.serial,
      model: device.model,
      site: device.site,
      customer: device.customer,
      priority: input.priority,
      channel: input.channel,
      state: 'open',
      contract: input.contract,
      coverage: 'active',
      openedAt: at,
      title: `${device.model} ${input.serial}: ${firstLine}`,
      summary: null,
      reporter: input.reporter,
      description: input.description,
      autoKey: null,
      clocks,
      nextDueMs: nextDueMs({ state: 'open', priority: input.priority, coverage: 'active', clocks }),
    },
    { at, actor: actor ?? input.reporter, note: `${input.priority} ticket by ${input.channel}: ${input.description}` },
    at,
  );
  // a manual ticket has no auto key: nothing can make its insert a no-op
  if (row === undefined) throw new AppError(ErrorCode.INTERNAL, `manual ticket of ${input.serial} not stored`);
  deps.logger.info({ ticket: row.id, serial: row.serial, priority: row.priority }, 'ticket opened');
  return { row, isLinked: false };
}
