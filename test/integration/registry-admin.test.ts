/**
 * Issue 14 registry management without restarts: CSV import (1,000 devices in one go; a file with one bad row is
 * rejected naming it, nothing imported), customers/sites/devices/contracts/maintenance create-read-update-delete
 * with 409 on duplicates and 422 on bad references, all live on a running hub and audited.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { runImport } from '../../hub/registry/import-cli.ts';
import { startTestHub, TEST_ADMIN_TOKEN, type TestHub } from '../helpers/hub-fixture.ts';

let t: TestHub | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const HEADER = 'customer,customer_name,contract,contract_start,term_years,extension_years,serial,model,site,name';

function fleetCsv(n: number): string {
  const lines = [HEADER];
  for (let i = 0; i < n; i += 1) {
    const customer = `cust-${i % 10}`;
    const serial = `IMP-${String(i).padStart(5, '0')}`;
    lines.push(
      `${customer},Customer ${i % 10},C-${i % 10},2025-01-01,3,0,${serial},StudioX50,site-${i % 25},Room ${i}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function postCsv(hub: TestHub, csv: string) {
  const res = await hub.api('/api/import', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
  return { status: res.status, body: (await res.json()) as any };
}

async function json(hub: TestHub, method: string, path: string, body?: unknown) {
  const res = await hub.api(path, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as any) };
}

describe('CSV import', () => {
  it('loads 1,000 devices with their customers and contracts into a running hub', async () => {
    t = await startTestHub();
    const result = await postCsv(t, fleetCsv(1000));
    expect(result).toEqual({ status: 201, body: { customers: 10, contracts: 10, devices: 1000 } });
    const devices = await json(t, 'GET', '/api/devices');
    expect(devices.body).toHaveLength(1000);
    const one = devices.body.find((d: { serial: string }) => d.serial === 'IMP-00123');
    expect(one).toMatchObject({
      customer: 'cust-3',
      site: 'site-23',
      contract: 'C-3',
      coverage: 'active',
      name: 'Room 123',
    });
    const contract = await json(t, 'GET', '/api/contracts/C-3');
    expect(contract.body.serials).toHaveLength(100);
    // Importing the same file again: every serial is a duplicate, nothing changes.
    const again = await postCsv(t, fleetCsv(3));
    expect(again.status).toBe(400);
    expect(again.body.error).toMatch(/line 2: serial: "IMP-00000" is already registered/);
    const audit = await json(t, 'GET', '/api/audit?action=registry.import');
    expect(audit.body).toHaveLength(1);
  });

  it('rejects a file with one bad row, naming its line and field, and imports nothing', async () => {
    t = await startTestHub();
    const lines = fleetCsv(1000).trimEnd().split('\n');
    lines[501] = lines[501]!.replace('StudioX50', 'Trio8800');
    const result = await postCsv(t, `${lines.join('\n')}\n`);
    expect(result.status).toBe(400);
    expect(result.body.code).toBe('PAYLOAD_INVALID');
    expect(result.body.error).toMatch(/^csv: nothing imported: line 502: model: /);
    expect(result.body.error.match(/line \d+/g)).toEqual(['line 502']);
    expect((await json(t, 'GET', '/api/devices')).body).toEqual([]);
    expect((await json(t, 'GET', '/api/customers')).body).toEqual([]);
    expect((await json(t, 'GET', '/api/contracts')).body).toEqual([]);
  });

  it('names every bad row: missing names, conflicting contracts, repeated serials, unknown columns', async () => {
    t = await startTestHub({ config: { customers: [{ id: 'acme', name: 'Acme' }] } });
    const csv = [
      HEADER,
      'acme,,C-1,2025-01-01,3,,S-1,StudioX50,site-a,',
      'newco,,,,,,S-2,,site-b,',
      'acme,,C-1,2026-01-01,3,,S-3,,site-a,',
      'acme,,C-2,,,,S-1,,site-a,',
      'acme,,,,,,bad serial,,site/x,',
    ].join('\n');
    const result = await postCsv(t, csv);
    expect(result.status).toBe(400);
    const details = result.body.error as string;
    expect(details).toContain('line 3: customer_name: expected a name for the new customer "newco"');
    expect(details).toContain('line 4: contract_start: 2026-01-01 differs from 2025-01-01 on line 2');
    expect(details).toContain('line 5: serial: "S-1" is already on line 2');
    expect(details).toContain('line 5: contract_start: expected the start of the new contract "C-2"');
    expect(details).toMatch(/line 6: serial: /);
    expect(details).toMatch(/line 6: site: /);
    const header = await postCsv(t, 'customer,serial,site,colour\nacme,S-1,a,red\n');
    expect(header.body.error).toMatch(/line 1: colour: unknown column/);
    const notCsv = await t.api('/api/import', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(notCsv.status).toBe(400);
  });

  it('hezo import FILE.csv loads the hub database; a bad file exits 2 naming the row', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hezo-import-'));
    dirs.push(dir);
    const config = join(dir, 'hub.yaml');
    writeFileSync(config, `version: 1\ndataDir: ${JSON.stringify(dir)}\napi:\n  token: ${TEST_ADMIN_TOKEN}\n`);
    const good = join(dir, 'good.csv');
    writeFileSync(good, fleetCsv(20));
    const out: string[] = [];
    expect(await runImport([good, '--config', config], (l) => out.push(l))).toBe(0);
    expect(JSON.parse(out[0]!)).toEqual({ customers: 10, contracts: 10, devices: 20 });
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, `${HEADER}\nacme,Acme,,,,,X-1,Nope,site-a,\n`);
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((c: string) => errors.push(String(c)) > 0) as typeof process.stderr.write;
    try {
      expect(await main(['import', bad, '--config', config])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(errors.join('')).toMatch(/bad\.csv: line 2: model: /);
    t = await startTestHub({ dataDir: dir });
    expect((await json(t, 'GET', '/api/devices')).body).toHaveLength(20);
  });
});

describe('registry records', () => {
  it('customers, sites, devices, contracts and windows: 409 duplicates, 422 bad references, delete and end', async () => {
    t = await startTestHub();
    expect((await json(t, 'POST', '/api/customers', { id: 'acme', name: 'Acme' })).status).toBe(201);
    expect(await json(t, 'POST', '/api/customers', { id: 'acme', name: 'Again' })).toMatchObject({
      status: 409,
      body: { code: 'DUPLICATE_KEY' },
    });
    expect((await json(t, 'POST', '/api/customers', { id: 'globex', name: 'Globex' })).status).toBe(201);
    expect((await json(t, 'PATCH', '/api/customers/acme', { name: 'Acme S.A.' })).body).toMatchObject({
      name: 'Acme S.A.',
    });
    expect((await json(t, 'POST', '/api/sites', { id: 'waw', customer: 'acme' })).status).toBe(201);
    expect((await json(t, 'POST', '/api/sites', { id: 'waw', customer: 'acme' })).status).toBe(409);
    expect((await json(t, 'POST', '/api/sites', { id: 'krk', customer: 'nobody' })).status).toBe(422);

    const device = { serial: 'D-1', model: 'StudioX50', site: 'waw', customer: 'acme' };
    expect((await json(t, 'POST', '/api/devices', device)).status).toBe(201);
    expect((await json(t, 'POST', '/api/devices', device)).status).toBe(409);
    expect(await json(t, 'POST', '/api/devices', { ...device, serial: 'D-2', customer: 'nobody' })).toMatchObject({
      status: 422,
      body: { code: 'REFERENCE_INVALID' },
    });

    const contract = { number: 'C-1', customer: 'acme', start: '2025-01-01', termYears: 2, serials: ['D-1'] };
    expect(await json(t, 'POST', '/api/contracts', { ...contract, customer: 'nobody' })).toMatchObject({ status: 422 });
    expect(await json(t, 'POST', '/api/contracts', { ...contract, number: 'C-X', customer: 'globex' })).toMatchObject({
      status: 422,
      body: { error: expect.stringMatching(/serials\[0\]/) },
    });
    expect((await json(t, 'POST', '/api/contracts', contract)).status).toBe(201);
    expect((await json(t, 'POST', '/api/contracts', contract)).status).toBe(409);
    // Moving the device to another customer would leave it on acme's contract.
    expect((await json(t, 'PUT', '/api/devices/D-1', { site: 'waw', customer: 'globex' })).status).toBe(422);
    const ended = await json(t, 'POST', '/api/contracts/C-1/end', { lastDay: '2025-06-30' });
    expect(ended.body).toMatchObject({ number: 'C-1', end: '2025-06-30', isActive: false });
    expect((await json(t, 'GET', '/api/devices/D-1')).body.coverage).toBe('none');
    expect(await json(t, 'DELETE', '/api/customers/acme')).toMatchObject({ status: 409, body: { code: 'IN_USE' } });

    const window = await json(t, 'POST', '/api/maintenance', {
      site: 'waw',
      from: '2020-01-01T00:00:00Z',
      to: '2099-01-01T00:00:00Z',
    });
    expect(window.status).toBe(201);
    const endedWindow = await json(t, 'DELETE', `/api/maintenance/${window.body.id}`);
    expect(endedWindow.status).toBe(200);
    expect(Date.parse(endedWindow.body.to)).toBeLessThan(Date.parse('2099-01-01T00:00:00Z'));

    expect((await json(t, 'DELETE', '/api/devices/D-1')).status).toBe(204);
    expect((await json(t, 'GET', '/api/devices/D-1')).status).toBe(404);
    expect((await json(t, 'DELETE', '/api/devices/D-1')).status).toBe(404);
    const actions = (await json(t, 'GET', '/api/audit')).body.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'customer.add',
        'customer.update',
        'site.add',
        'device.add',
        'contract.add',
        'contract.end',
        'maintenance.add',
        'maintenance.end',
        'device.remove',
      ]),
    );
  });
});
