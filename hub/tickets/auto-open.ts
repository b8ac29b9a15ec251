/**
 * The automatic-ticket policy: what a device fault opens or adds (one open automatic ticket per device and key,
 * enforced by the database), a degraded device that dies raises its P2 to P1, a recovery or agent-offline note goes
 * on the open ticket. Writes only; the service (service.ts) orders, re-arms and announces.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { BusinessCalendar } from '../calendar/business-calendar.ts';
import type { AutoTicketInput, DeviceRegistry } from '../context.ts';
import type { SqlStore } from '../store/sql-store.ts';
import type { DeviceTransition, Priority } from '../types.ts';
import { humanReason } from './human-reason.ts';
import { applyEscalation, initialClocks, nextDueMs } from './lifecycle.ts';
import { describeReason } from './reasons.ts';
import type { TicketRow, TicketStore } from './store.ts';

/** Automatic tickets about a device's health share one key: at most one open per device (DB-enforced). */
export const AUTO_KEY = 'device-health';
export const MONITOR_ACTOR = 'hezo-monitor';

export interface TicketWriterDeps {
  store: TicketStore;
  clock: Clock;
  logger: Logger;
  calendarFor: (customer: string | null) => BusinessCalendar;
  registry: () => DeviceRegistry | undefined;
}

export type AutoChange = 'opened' | 'escalated' | 'note';

/**
 * Runs a write in one transaction that commits only while this node may act (e.g. `withFence` of the partition's
 * holder, hub/cluster/fencing.ts); it rejects (StaleEpochError) and writes nothing otherwise.
 */
export type WriteFence = <T>(write: (tx: SqlStore) => Promise<T>) => Promise<T>;

const priorityOf = (state: AutoTicketInput['state']): Priority =>
  state === 'down' ? 'P1' : state === 'config' ? 'P3' : 'P2';

function autoTitle(model: string | null, serial: string, input: AutoTicketInput): string {
  return `${model ?? 'device'} ${serial} ${input.state}: ${humanReason(input.reason, [], input.evidence)}`;
}

/**
 * Open the device's automatic ticket, or escalate/annotate the open one. `fence`: each write runs inside it (a
 * fenced transaction of the partition's holder) and is refused with it.
 */
export async function openAutoTicket(
  deps: TicketWriterDeps,
  input: AutoTicketInput,
  fence: WriteFence = (write) => write(deps.store.sql),
): Promise<{ row: TicketRow; change: AutoChange }> {
  const autoKey = input.autoKey ?? AUTO_KEY;
  let existing = await deps.store.findOpenAuto(input.serial, autoKey);
  if (existing === undefined) {
    const opened = await fence((tx) => insertAutoTicket(deps, input, tx));
    if (opened !== undefined) return { row: opened, change: 'opened' };
    // Another opener (this node or another hub node) won the unique index: update the ticket that won.
    existing = await deps.store.findOpenAuto(input.serial, autoKey);
    if (existing === undefined) throw new AppError(ErrorCode.INTERNAL, `automatic ticket of ${input.serial} vanished`);
  }
  const now = deps.clock.now();
  const at = new Date(now).toISOString();
  const evidence = input.evidence.length > 0 ? `\n${input.evidence.join('\n')}` : '';
  let change = 'note' as AutoChange;
  const seq = existing.seq;
  const row = await fence((tx) =>
    deps.store.updateTicket(
      seq,
      (current) => {
        if (current.priority === 'P2' && priorityOf(input.state) === 'P1') {
          change = 'escalated';
          const clocks = applyEscalation(current, now, deps.calendarFor(current.customer));
          return {
            patch: {
              priority: 'P1',
              clocks,
              title: autoTitle(current.model, current.serial, input),
              nextDueMs: nextDueMs({ ...current, priority: 'P1', clocks }),
            },
            history: [
              {
                at,
                kind: 'escalated',
                from: current.state,
                to: current.state,
                actor: MONITOR_ACTOR,
                note: `escalated P2 -> P1: device down (${describeReason(input.reason)})${evidence}`,
              },
            ],
          };
        }
        change = 'note';
        return {
          patch: {},
          history: [
            {
              at,
              kind: 'device-state',
              from: current.state,
              to: current.state,
              actor: MONITOR_ACTOR,
              note: `device ${input.state} again (${describeReason(input.reason)})${evidence}`,
            },
          ],
        };
      },
      at,
      tx,
    ),
  );
  if (change === 'escalated') deps.logger.warn({ ticket: row.id, serial: row.serial }, 'ticket escalated to P1');
  return { row, change };
}

/** A device state change that opens nothing but belongs on the open automatic ticket (recovery, agent offline). */
export async function recordDeviceStateOnTicket(
  deps: TicketWriterDeps,
  t: DeviceTransition,
): Promise<{ row: TicketRow; change: 'recovered' | 'note' } | undefined> {
  const existing = await deps.store.findOpenAuto(t.serial, AUTO_KEY);
  if (existing === undefined) return undefined;
  const at = new Date(deps.clock.now()).toISOString();
  const recovered = t.to === 'up';
  const note = recovered
    ? `device recovered at ${t.at} (${describeReason(t.reason)}); the ticket stays open until an engineer closes it`
    : `device state ${t.to} at ${t.at} (${describeReason(t.reason)})`;
  const row = await deps.store.updateTicket(
    existing.seq,
    (current) => ({
      patch: {},
      history: [
        {
          at,
          kind: recovered ? 'recovered' : 'device-state',
          from: current.state,
          to: current.state,
          actor: MONITOR_ACTOR,
          note,
        },
      ],
    }),
    at,
  );
  return { row, change: recovered ? 'recovered' : 'note' };
}

/** Insert a new automatic ticket; undefined when another open one won the unique index meanwhile. */
async function insertAutoTicket(
  deps: TicketWriterDeps,
  input: AutoTicketInput,
  tx: SqlStore,
): Promise<TicketRow | undefined> {
  const now = deps.clock.now();
  const at = new Date(now).toISOString();
  const registry = deps.registry();
  const device = registry?.get(input.serial);
  const customer = device?.customer ?? input.customer ?? null;
  const contract = registry?.contractFor(input.serial, now);
  // SLA-2: no active contract -> still a ticket, but coverage none and no clocks.
  const coverage = contract?.isActive === true ? 'active' : 'none';
  const priority = priorityOf(input.state);
  const clocks = initialClocks(priority, coverage, now, deps.calendarFor(customer));
  const evidence = input.evidence.length > 0 ? `\n${input.evidence.join('\n')}` : '';
  const detected = input.at === undefined ? '' : ` (detected ${input.at})`;
  const coverageNote =
    coverage === 'none'
      ? contract === undefined
        ? '\nno service contract covers this device: coverage none, no SLA clocks (SLA-2)'
        : `\ncontract ${contract.number} is not active (ended ${contract.end}): coverage none, no SLA clocks (SLA-2)`
      : '';
  const row = await deps.store.insertTicket(
    {
      serial: input.serial,
      model: device?.model ?? null,
      site: device?.site ?? input.site ?? null,
      customer,
      priority,
      channel: 'auto',
      state: 'open',
      contract: contract?.number ?? null,
      coverage,
      openedAt: at,
      title: autoTitle(device?.model ?? null, input.serial, input),
      summary: input.evidence.length > 0 ? input.evidence.join('\n') : null,
      reporter: null,
      description: null,
      autoKey: input.autoKey ?? AUTO_KEY,
      clocks,
      nextDueMs: nextDueMs({ state: 'open', priority, coverage, clocks }),
    },
    {
      at,
      actor: MONITOR_ACTOR,
      note: `opened automatically: device ${input.state} (${describeReason(input.reason)})${detected}${evidence}${coverageNote}`,
    },
    at,
    tx,
  );
  if (row !== undefined) {
    deps.logger.warn({ ticket: row.id, serial: row.serial, priority }, 'automatic ticket opened');
  }
  return row;
}
