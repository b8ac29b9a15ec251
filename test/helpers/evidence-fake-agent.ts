/**
 * A real MQTT.js client acting as an agent for the evidence module's tests: it announces itself with a health
 * record, records every command the hub sends, and answers `collect-logs` / `diagnose` with attachment chunks
 * (in order or shuffled, optionally repeated, optionally cut) and a reply; `resumeFrom` resends from the given
 * chunk or acknowledges. Reconnects by itself (for broker restarts); a send loop stops when the link drops.
 */
import { createHash, randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  ATTACHMENT_CHUNK_BYTES,
  type AttachmentChunk,
  type Command,
  type CommandReply,
  decodeMessage,
  encodeMessage,
} from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord, makePresence } from './health-record.ts';

export interface FakeFile {
  name: string;
  kind: AttachmentChunk['kind'];
  data: Buffer;
  capturedAt?: string;
  /** Announce this sha256 instead of the real one (checksum mismatch tests). */
  announcedSha256?: string;
}

export interface FakeTransfer {
  transferId: string;
  commandId: string;
  file: FakeFile;
  sha256: string;
  total: number;
  acked: boolean;
}

export interface EvidenceAgentOptions {
  url: string;
  agentId: string;
  site: string;
  password: string;
  serial: string;
  /** Files per command kind (default: a small archive + trace, and service tests). */
  files?: Partial<Record<'collect-logs' | 'diagnose', FakeFile[]>>;
  /** Chunk order for a fresh send (default in order). */
  order?: 'in-order' | 'shuffled-with-repeats';
  /** Stop a fresh send after this many chunks (no reply): a transfer cut short. */
  stopAfterChunks?: number;
  /** Do not answer fresh commands at all (collection timeout tests). */
  isSilent?: boolean;
}

export interface EvidenceAgent {
  client: MqttClient;
  commands: Command[];
  transfers: Map<string, FakeTransfer>;
  /** Chunks published so far (all transfers, repeats included). */
  published(): number;
  /** Publish presence online and a live health record (so the hub knows which agent watches the serial). */
  announce(): Promise<void>;
  close(): Promise<void>;
}

const chunkCount = (size: number) => Math.max(1, Math.ceil(size / ATTACHMENT_CHUNK_BYTES));

export function defaultFiles(serial: string): Record<'collect-logs' | 'diagnose', FakeFile[]> {
  const now = new Date().toISOString();
  return {
    'collect-logs': [
      {
        name: 'device-logs.txt',
        kind: 'device-logs',
        data: Buffer.from(`${now.replace('T', ' ').replace('Z', '')} E/CameraManager: camera "Main" disconnected\n`),
        capturedAt: now,
      },
      {
        name: 'agent-trace.json',
        kind: 'agent-trace',
        data: Buffer.from(JSON.stringify({ serial, at: now, records: [], failedProbes: [] })),
      },
    ],
    diagnose: [
      {
        name: 'service-tests.json',
        kind: 'service-tests',
        data: Buffer.from(
          JSON.stringify({
            serial,
            at: now,
            tests: [
              { name: 'tcp-connect', ok: true },
              { name: 'rest-login', ok: false, error: { kind: 'auth', message: 'refused' } },
            ],
          }),
        ),
      },
    ],
  };
}

export async function startEvidenceAgent(options: EvidenceAgentOptions): Promise<EvidenceAgent> {
  const client = await mqtt.connectAsync(options.url, {
    protocolVersion: 4,
    clientId: `${options.agentId}-${randomBytes(3).toString('hex')}`,
    username: options.agentId,
    password: options.password,
    reconnectPeriod: 100,
    connectTimeout: 5000,
    clean: true,
  });
  client.on('error', () => {});
  const files = { ...defaultFiles(options.serial), ...options.files };
  const commands: Command[] = [];
  const transfers = new Map<string, FakeTransfer>();
  let published = 0;
  let generation = 0;
  let seq = 1;
  const cmdTopic = topics.commandsFor(options.site, options.agentId);

  const announce = async () => {
    await client.publishAsync(
      topics.presence(options.site, options.agentId),
      encodeMessage(
        'presence',
        makePresence('online', { agentId: options.agentId, site: options.site, devices: [options.serial] }),
      ),
      { qos: 1 },
    );
    const record = makeHealthRecord({
      agentId: options.agentId,
      site: options.site,
      serial: options.serial,
      seq: seq++,
    });
    await client.publishAsync(
      topics.health(options.site, options.agentId, options.serial),
      encodeMessage('health', record),
      { qos: 1 },
    );
  };

  client.on('close', () => {
    generation++;
  });
  client.on('connect', () => {
    void client.subscribeAsync(cmdTopic, { qos: 1 }).then(() => announce().catch(() => {}));
  });
  await client.subscribeAsync(cmdTopic, { qos: 1 });

  const reply = (r: CommandReply) =>
    client.publishAsync(topics.reply(options.site, options.agentId), encodeMessage('reply', r), { qos: 1 });

  /** Publish chunks `seqs` of a transfer; false when the link dropped meanwhile. */
  async function sendChunks(t: FakeTransfer, seqs: number[], limit = Number.POSITIVE_INFINITY): Promise<boolean> {
    const gen = generation;
    let sent = 0;
    for (const s of seqs) {
      if (gen !== generation || !client.connected || sent >= limit) return false;
      const data = t.file.data.subarray(s * ATTACHMENT_CHUNK_BYTES, (s + 1) * ATTACHMENT_CHUNK_BYTES);
      const chunk: AttachmentChunk = {
        v: 1,
        transferId: t.transferId,
        commandId: t.commandId,
        serial: options.serial,
        name: t.file.name,
        kind: t.file.kind,
        seq: s,
        total: t.total,
        size: t.file.data.length,
        sha256: t.sha256,
        data: data.toString('base64'),
        ...(t.file.capturedAt ? { capturedAt: t.file.capturedAt } : {}),
      };
      let onClose = () => {};
      const closed = new Promise<'closed'>((resolve) => {
        onClose = () => resolve('closed');
        client.once('close', onClose);
      });
      const result = await Promise.race([
        client.publishAsync(topics.attachment(options.site, options.agentId), encodeMessage('attachment', chunk), {
          qos: 1,
        }),
        closed,
      ])
        .catch(() => 'closed' as const)
        .finally(() => client.off('close', onClose));
      if (result === 'closed') return false;
      published++;
      sent++;
    }
    return true;
  }

  function orderOf(total: number): number[] {
    const seqs = Array.from({ length: total }, (_, i) => i);
    if (options.order !== 'shuffled-with-repeats') return seqs;
    for (let i = seqs.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [seqs[i], seqs[j]] = [seqs[j]!, seqs[i]!];
    }
    return [...seqs, ...seqs.slice(0, Math.ceil(total / 2))];
  }

  async function handle(command: Command): Promise<void> {
    if (command.resumeFrom && Object.keys(command.resumeFrom).length > 0) {
      const resumed: string[] = [];
      const acknowledged: string[] = [];
      const missing: string[] = [];
      for (const [id, from] of Object.entries(command.resumeFrom)) {
        const t = transfers.get(id);
        if (t === undefined) missing.push(id);
        else if (from >= t.total) {
          t.acked = true;
          acknowledged.push(id);
        } else {
          resumed.push(id);
          if (
            !(await sendChunks(
              t,
              Array.from({ length: t.total - from }, (_, i) => from + i),
            ))
          )
            return;
        }
      }
      await reply({ v: 1, id: command.id, ok: true, data: { resumed, acknowledged, missing } });
      return;
    }
    if (options.isSilent) return;
    const list = command.kind === 'collect-logs' || command.kind === 'diagnose' ? (files[command.kind] ?? []) : [];
    const mine = list.map((file) => {
      const t: FakeTransfer = {
        transferId: `t${randomBytes(8).toString('hex')}`,
        commandId: command.id,
        file,
        sha256: file.announcedSha256 ?? createHash('sha256').update(file.data).digest('hex'),
        total: chunkCount(file.data.length),
        acked: false,
      };
      transfers.set(t.transferId, t);
      return t;
    });
    let budget = options.stopAfterChunks ?? Number.POSITIVE_INFINITY;
    for (const t of mine) {
      const seqs = orderOf(t.total);
      const before = published;
      const isComplete = await sendChunks(t, seqs, budget);
      budget -= published - before;
      if (!isComplete) return;
    }
    await reply({
      v: 1,
      id: command.id,
      ok: true,
      data: {
        logs: { source: 'rest', cached: false },
        attachments: mine.map((t) => ({
          transferId: t.transferId,
          name: t.file.name,
          size: t.file.data.length,
          total: t.total,
        })),
      },
    });
  }

  client.on('message', (topic, payload) => {
    if (topic !== cmdTopic) return;
    const command = decodeMessage('cmd', payload);
    commands.push(command);
    void handle(command).catch(() => {});
  });

  await announce();
  return {
    client,
    commands,
    transfers,
    published: () => published,
    announce,
    close: () => client.endAsync(true),
  };
}
