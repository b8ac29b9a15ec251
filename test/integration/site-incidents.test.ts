/**
 * Issue 18, site incidents: a site power cut (the site's agent dies: its MQTT will says offline) opens one site
 * incident and notifies the NOC and the customer's contact once (real SMTP server, signed webhook); the incident is
 * acknowledged over the API and resolved when the site is back. A planned agent stop (presence `stopping` on
 * SIGTERM, then `offline`) raises nothing.
 */
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../agent/agent.ts';
import { createIncidentsModule } from '../../hub/incidents/module.ts';
import type { SiteIncident } from '../../hub/incidents/store.ts';
import { encodeMessage } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import { agentConfigForFleet, silentLogger, tempDir } from '../helpers/agent-harness.ts';
import { startTestHub } from '../helpers/hub-fixture.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SECRET = 'incident-webhook-secret-01';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startSmtp() {
  const mails: { to: string; text: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address).join(','),
          text: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as AddressInfo).port, mails };
}

async function startWebhook() {
  const received: { event: string; signatureOk: boolean; body: { incident: SiteIncident } }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const expected = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
      received.push({
        event: String(req.headers['x-hezo-event']),
        signatureOk: req.headers['x-hezo-signature'] === expected,
        body: JSON.parse(raw),
      });
      res.statusCode = 204;
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

describe('site incidents', () => {
  it('a site power cut notifies the NOC and the customer once; a planned agent stop raises nothing', async () => {
    const smtp = await startSmtp();
    const hook = await startWebhook();
    const t = await startTestHub({
      modules: [createIncidentsModule],
      config: {
        agents: [
          { id: 'agent-a', site: 'site-a', password: 'agent-a-secret-0001' },
          { id: 'agent-b', site: 'site-b', password: 'agent-b-secret-0001' },
        ],
        customers: [{ id: 'acme', name: 'ACME', contactEmail: 'facilities@acme.example' }],
        devices: [
          { serial: 'DEVA0001', model: 'StudioX50', site: 'site-a', customer: 'acme' },
          { serial: 'DEVB0001', model: 'StudioX50', site: 'site-b', customer: 'acme' },
        ],
        notifications: {
          smtp: { host: '127.0.0.1', port: smtp.port, from: 'hezo@noc.example', to: ['noc@noc.example'] },
          webhooks: [{ url: hook.url, secret: SECRET }],
          retryBaseMs: 20,
        },
      },
    });
    cleanups.push(() => t.close());
    const presences: { agentId: string; status: string }[] = [];
    t.hub.ctx.bus.on('ingest:presence', (m) => presences.push({ agentId: m.agentId, status: m.message.status }));
    const incidents = async (state = 'all') =>
      (await (await t.api(`/api/site-incidents?state=${state}`)).json()) as SiteIncident[];

    // 1. planned stop of site B's agent (the real agent: `stopping`, then the retained `offline`)
    const data = tempDir();
    cleanups.push(data.close);
    const agentB = createAgent(
      agentConfigForFleet([], t.urls.mqttUrl, data.dir, {
        agentId: 'agent-b',
        site: 'site-b',
        customer: 'acme',
        mqtt: { url: t.urls.mqttUrl, username: 'agent-b', password: 'agent-b-secret-0001', keepaliveS: 5 },
      }),
      { logger: silentLogger },
    );
    await agentB.start();
    await waitFor(() => presences.some((p) => p.agentId === 'agent-b' && p.status === 'online'), { what: 'B online' });
    await agentB.stop();
    await waitFor(() => presences.some((p) => p.agentId === 'agent-b' && p.status === 'offline'), {
      what: 'B offline',
    });
    expect(presences.filter((p) => p.agentId === 'agent-b').map((p) => p.status)).toEqual([
      'online',
      'stopping',
      'offline',
    ]);

    // 2. power cut at site A: its agent dies without a word (the broker publishes its will)
    const willPayload = (status: 'online' | 'offline') =>
      encodeMessage('presence', {
        v: 1,
        agentId: 'agent-a',
        site: 'site-a',
        status,
        at: new Date().toISOString(),
        devices: ['DEVA0001'],
      });
    const presenceTopic = topics.presence('site-a', 'agent-a');
    const connectA = () =>
      mqtt.connectAsync(t.urls.mqttUrl, {
        protocolVersion: 4,
        clientId: `agent-a-${Math.random().toString(16).slice(2, 8)}`,
        username: 'agent-a',
        password: 'agent-a-secret-0001',
        reconnectPeriod: 0,
        will: { topic: presenceTopic, payload: Buffer.from(willPayload('offline')), qos: 1, retain: true },
      });
    const a = await connectA();
    a.on('error', () => {});
    await a.publishAsync(presenceTopic, willPayload('online'), { qos: 1, retain: true });
    await waitFor(() => presences.some((p) => p.agentId === 'agent-a' && p.status === 'online'), { what: 'A online' });
    a.stream.destroy();

    const customerMail = await waitFor(() => smtp.mails.find((m) => m.to === 'facilities@acme.example'), {
      what: 'the customer e-mail',
    });
    expect(customerMail.text).toContain('site-a');
    await waitFor(() => smtp.mails.some((m) => m.to === 'noc@noc.example'), { what: 'the NOC e-mail' });
    const opened = await waitFor(() => hook.received.find((r) => r.event === 'site-incident.opened'), {
      what: 'the webhook',
    });
    expect(opened.signatureOk).toBe(true);
    expect(opened.body.incident).toMatchObject({ site: 'site-a', customer: 'acme', state: 'open' });
    const [incident, ...others] = await incidents();
    expect(others).toEqual([]); // nothing for site B's planned stop
    expect(incident).toMatchObject({ site: 'site-a', state: 'open', serials: ['DEVA0001'] });
    expect(smtp.mails.filter((m) => m.to === 'facilities@acme.example')).toHaveLength(1);
    expect(smtp.mails.some((m) => m.text.includes('site-b'))).toBe(false);

    // 3. lifecycle: acknowledged by an engineer, resolved when the site is back
    const bad = await t.api(`/api/site-incidents/${incident!.id}/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({}),
    });
    expect(bad.status).toBe(400);
    const ack = await t.api(`/api/site-incidents/${incident!.id}/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'eng.kowalski' }),
    });
    expect(ack.status).toBe(200);
    // acknowledged by the signed-in caller (here the config's admin token), not whoever the body names
    expect(await ack.json()).toMatchObject({ state: 'acknowledged', acknowledgedBy: expect.any(String) });
    const back = await connectA();
    cleanups.push(() => back.endAsync(true));
    await back.publishAsync(presenceTopic, willPayload('online'), { qos: 1, retain: true });
    const resolved = await waitFor(async () => (await incidents()).find((i) => i.state === 'resolved'), {
      what: 'incident resolved',
    });
    expect(resolved.id).toBe(incident!.id);
    await waitFor(() => smtp.mails.filter((m) => m.to === 'facilities@acme.example').length === 2, {
      what: 'the customer told it is back',
    });
    expect(smtp.mails.filter((m) => m.to === 'facilities@acme.example').at(-1)?.text).toContain('resolved');
    expect(await incidents('open')).toEqual([]);
  });
});
