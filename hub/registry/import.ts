/**
 * Bulk import of customers, contracts and devices from CSV (`hezo import FILE.csv`, `POST /api/import`):
 * one row per device, header
 *   `customer,customer_name,contract,contract_start,term_years,extension_years,serial,model,site,name`
 * (`customer`, `serial`, `site` required; `customer_name` for a new customer; `contract_start` and `term_years`
 * for a new contract). Every row is checked first and every problem reported as `line N: field: what`; only a
 * file without any problem is applied, in ONE transaction. A serial already registered or repeated in the file,
 * a contract of another customer, or rows disagreeing about one contract are problems (never an overwrite).
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { DeviceModel, Serial } from '../../protocols/health.ts';
import { describeIssues } from '../../protocols/validation.ts';
import { ContractConfig, CustomerConfig, DeviceConfig } from '../config.ts';
import { type ChangeFeed, NO_CHANGE_FEED } from '../store/change-feed.ts';
import { lockForTransaction, RegistryRepo } from '../store/registry-repo.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { CUSTOMERS_STORE, type CustomerDirectory } from './customers.ts';
import { CustomerRepo } from './customers-repo.ts';
import { REGISTRY_BULK_LOCK, REGISTRY_STORE, type Registry } from './registry.ts';

export const IMPORT_COLUMNS = [
  'customer',
  'customer_name',
  'contract',
  'contract_start',
  'term_years',
  'extension_years',
  'serial',
  'model',
  'site',
  'name',
] as const;

const blankToUndefined = (v: unknown) => (v === '' ? undefined : v);
const Row = z.strictObject({
  customer: CustomerConfig.shape.id,
  customer_name: z.preprocess(blankToUndefined, z.string().min(1).max(200).optional()),
  contract: z.preprocess(blankToUndefined, ContractConfig.shape.number.optional()),
  contract_start: z.preprocess(blankToUndefined, z.iso.date().optional()),
  term_years: z.preprocess(blankToUndefined, z.coerce.number().int().min(1).max(3).optional()),
  extension_years: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).max(2).optional()),
  serial: Serial,
  model: z.preprocess(blankToUndefined, DeviceModel.default('unknown')),
  site: DeviceConfig.shape.site,
  name: z.preprocess(blankToUndefined, z.string().max(120).optional()),
});
type Row = z.infer<typeof Row>;

export interface ImportResult {
  customers: number;
  contracts: number;
  devices: number;
}

interface Plan {
  customers: Map<string, string>;
  contracts: Map<string, ContractConfig & { line: number }>;
  devices: DeviceConfig[];
}

/** Parse and check the whole file; PAYLOAD_INVALID listing every bad row by line and field. */
export function planImport(csv: string, deps: { registry: Registry; customers: CustomerDirectory }): Plan {
  const problems: string[] = [];
  let records: { record: Record<string, string>; line: number }[] = [];
  try {
    const parsed = parseCsv(csv, { columns: true, info: true, skip_empty_lines: true, trim: true, bom: true }) as {
      record: Record<string, string>;
      info: { lines: number };
    }[];
    records = parsed.map((p) => ({ record: p.record, line: p.info.lines }));
  } catch (err) {
    throw new AppError(ErrorCode.PAYLOAD_INVALID, `csv: ${(err as Error).message}`, { cause: err });
  }
  if (records.length === 0)
    throw new AppError(ErrorCode.PAYLOAD_INVALID, 'csv: expected a header and at least one row');
  const header = Object.keys(records[0]!.record);
  const unknown = header.filter((c) => !(IMPORT_COLUMNS as readonly string[]).includes(c));
  const missing = ['customer', 'serial', 'site'].filter((c) => !header.includes(c));
  if (unknown.length > 0 || missing.length > 0) {
    const parts = [
      ...unknown.map((c) => `line 1: ${c}: unknown column (expected ${IMPORT_COLUMNS.join(',')})`),
      ...missing.map((c) => `line 1: ${c}: missing column`),
    ];
    throw new AppError(ErrorCode.PAYLOAD_INVALID, parts.join('; '), { details: parts });
  }

  const plan: Plan = { customers: new Map(), contracts: new Map(), devices: [] };
  const serialLines = new Map<string, number>();
  for (const { record, line } of records) {
    const result = Row.safeParse(record, { reportInput: true });
    if (!result.success) {
      for (const issue of describeIssues(result.error.issues)) problems.push(`line ${line}: ${issue}`);
      continue;
    }
    const row: Row = result.data;
    const bad = (field: string, what: string) => problems.push(`line ${line}: ${field}: ${what}`);
    if (!deps.customers.exists(row.customer) && !plan.customers.has(row.customer)) {
      if (row.customer_name === undefined)
        bad('customer_name', `expected a name for the new customer "${row.customer}"`);
      else plan.customers.set(row.customer, row.customer_name);
    }
    const seen = serialLines.get(row.serial);
    if (seen !== undefined) bad('serial', `"${row.serial}" is already on line ${seen}`);
    else if (deps.registry.get(row.serial) !== undefined) bad('serial', `"${row.serial}" is already registered`);
    serialLines.set(row.serial, line);
    if (row.contract !== undefined) checkContract(row, line, plan, deps.registry, bad);
    plan.devices.push({
      serial: row.serial,
      model: row.model,
      site: row.site,
      customer: row.customer,
      ...(row.name !== undefined ? { name: row.name } : {}),
    });
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 50);
    const more = problems.length > shown.length ? `; ... ${problems.length - shown.length} more` : '';
    throw new AppError(ErrorCode.PAYLOAD_INVALID, `csv: nothing imported: ${shown.join('; ')}${more}`, {
      details: problems,
    });
  }
  return plan;
}

function checkContract(
  row: Row,
  line: number,
  plan: Plan,
  registry: Registry,
  bad: (field: string, what: string) => void,
): void {
  const number = row.contract!;
  const existing = registry.contract(number);
  const planned = plan.contracts.get(number);
  const owner = existing?.customer ?? planned?.customer;
  if (owner !== undefined && owner !== row.customer) {
    bad('contract', `"${number}" belongs to customer "${owner}", not "${row.customer}"`);
    return;
  }
  if (planned !== undefined) {
    if (row.contract_start !== undefined && row.contract_start !== planned.start)
      bad('contract_start', `${row.contract_start} differs from ${planned.start} on line ${planned.line}`);
    if (row.term_years !== undefined && row.term_years !== planned.termYears)
      bad('term_years', `${row.term_years} differs from ${planned.termYears} on line ${planned.line}`);
    planned.serials.push(row.serial);
    return;
  }
  if (existing !== undefined) {
    plan.contracts.set(number, { ...contractConfigOf(registry, number), line });
    plan.contracts.get(number)!.serials.push(row.serial);
    return;
  }
  if (row.contract_start === undefined) bad('contract_start', `expected the start of the new contract "${number}"`);
  if (row.term_years === undefined) bad('term_years', `expected the term (1-3 years) of the new contract "${number}"`);
  if (row.contract_start === undefined || row.term_years === undefined) return;
  plan.contracts.set(number, {
    number,
    customer: row.customer,
    start: row.contract_start,
    termYears: row.term_years,
    extensionYears: row.extension_years ?? 0,
    serials: [row.serial],
    line,
  });
}

function contractConfigOf(registry: Registry, number: string): ContractConfig {
  const c = registry.listContracts(Date.now()).find((x) => x.number === number)!;
  return {
    number,
    customer: c.customer,
    start: c.start,
    termYears: c.termYears,
    extensionYears: c.extensionYears,
    serials: [...c.serials],
  };
}

/**
 * Check, then apply in ONE transaction over the registry and the customers (nothing stored when any of it fails),
 * through their write queue; announced on the change feed (other nodes reload both views), then both views reload.
 */
export async function importCsv(
  csv: string,
  deps: { sql: SqlStore; registry: Registry; customers: CustomerDirectory; feed?: ChangeFeed; now?: () => number },
): Promise<ImportResult> {
  const plan = planImport(csv, deps);
  const feed = deps.feed ?? NO_CHANGE_FEED;
  const at = new Date((deps.now ?? Date.now)()).toISOString();
  const meanwhile = (what: string) =>
    new AppError(ErrorCode.PAYLOAD_INVALID, `csv: nothing imported: ${what} was added meanwhile (another change)`);
  await deps.registry.writes.run(async () => {
    try {
      await deps.sql.transaction(async (tx) => {
        await lockForTransaction(tx, REGISTRY_BULK_LOCK);
        const customers = new CustomerRepo(tx);
        const registry = new RegistryRepo(tx);
        for (const [id, name] of plan.customers)
          if (!(await customers.insert({ id, name }, at))) throw meanwhile(`customer "${id}"`);
        const rows = plan.devices.map((d) => ({ ...d, name: d.name ?? null, source: 'api' }));
        const [taken] = await registry.insertDevices(rows, at);
        if (taken !== undefined) throw meanwhile(`serial "${taken}"`);
        for (const { line: _line, ...contract } of plan.contracts.values())
          await registry.upsertContract(contract, 'api', at);
        await feed.notify(CUSTOMERS_STORE, undefined, tx);
        await feed.notify(REGISTRY_STORE, undefined, tx);
      });
    } finally {
      await deps.customers.reload();
      await deps.registry.reload();
    }
  });
  return { customers: plan.customers.size, contracts: plan.contracts.size, devices: plan.devices.length };
}
