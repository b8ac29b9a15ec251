/**
 * `summariseEvidence`: one short, machine-made line for a ticket from its evidence (SLA-11: the engineer starts
 * verification from it), e.g. `REST login refused since 10:42; SNMP timeouts since 10:42; service tests 2/5
 * passed (failed: rest-login auth, snmp-sysuptime timeout); last log lines mention camera ("camera ... disconnected")`.
 * Pure: the caller parses the attachments (already redacted) and passes what it found.
 */

export interface SummaryProbeError {
  kind: string;
  message?: string;
  httpStatus?: number;
}

export interface SummaryServiceTest {
  name: string;
  ok: boolean;
  skipped?: string | null;
  error?: SummaryProbeError | null;
}

export interface SummaryTraceRecord {
  observedAt: string;
  reachability: Record<string, { ok: boolean; error?: SummaryProbeError | null } | undefined>;
  components?: readonly { kind: string; name: string; status: string }[];
}

export interface EvidenceInput {
  /** `service-tests.json` (agent `diagnose`). */
  serviceTests?: { at?: string; tests: readonly SummaryServiceTest[] } | undefined;
  /** `agent-trace.json` (agent `collect-logs`): the device's last health records, oldest first. */
  trace?: { at?: string; records: readonly SummaryTraceRecord[] } | undefined;
  /** Text lines of the device log archive (any order; lines starting with a timestamp are sorted by it). */
  logLines?: readonly string[] | undefined;
  /** About the archive: when it was captured, whether it is the agent's cached copy, or why there is none. */
  logs?: { capturedAt?: string | null; cached?: boolean; missing?: string } | undefined;
  /** When the evidence was collected (default: the service tests' or trace's `at`). */
  collectedAt?: string | undefined;
  /** IANA zone for the times shown (default UTC). */
  timeZone?: string | undefined;
}

/** Longest summary returned. */
export const SUMMARY_MAX_CHARS = 600;
/** Failed components named in the summary (the rest are counted). */
const MAX_COMPONENTS = 3;
/** How many of the newest log lines are searched for keywords. */
export const LOG_TAIL_LINES = 200;

const CHANNEL_LABEL: Record<string, string> = { rest: 'REST', snmp: 'SNMP', tcp: 'TCP', ssh: 'SSH', usb: 'USB' };

const LOG_TOPICS: readonly { topic: string; pattern: RegExp }[] = [
  { topic: 'camera', pattern: /\b(camera|eagleeye|video input)\b/i },
  { topic: 'microphone', pattern: /\b(mic|mics|microphone|microphones|audio input)\b/i },
  {
    topic: 'network',
    pattern: /\b(network|eth\d|ethernet|link (down|up)|dhcp|dns|packet loss|wi-?fi|unreachable|ip address)\b/i,
  },
  { topic: 'error', pattern: /(\b(error|errors|fail|failed|failure|fault|crash|panic|exception)\b|\sE\/\w)/i },
];

const TIMESTAMP = /^\s*(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?)/;

function problemPhrase(channel: string, error: SummaryProbeError | null | undefined): string {
  switch (error?.kind) {
    case 'auth':
      return channel === 'rest' || channel === 'ssh' ? 'login refused' : 'auth failed';
    case 'refused':
      return 'connection refused';
    case 'timeout':
      return 'timeouts';
    case 'unreachable':
      return 'unreachable';
    case 'tls':
      return 'TLS failure';
    case 'http':
      return error.httpStatus === undefined ? 'HTTP errors' : `HTTP ${error.httpStatus}`;
    case 'locked-out':
      return 'account locked out';
    case 'parse':
      return 'unreadable answers';
    case undefined:
      return 'failing';
    default:
      return `${error?.kind ?? 'unknown'} errors`;
  }
}

function localParts(iso: string, timeZone: string): { date: string; time: string } | undefined {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return undefined;
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { date: `${get('year')}-${get('month')}-${get('day')}`, time: `${get('hour')}:${get('minute')}` };
}

/** `10:42` when on the reference's local date, else `2025-01-17 10:42`. */
export function formatWhen(iso: string, timeZone: string, referenceIso?: string): string {
  const at = localParts(iso, timeZone);
  if (at === undefined) return iso;
  const ref = referenceIso === undefined ? undefined : localParts(referenceIso, timeZone);
  return ref !== undefined && ref.date === at.date ? at.time : `${at.date} ${at.time}`;
}

/** `2 h 5 min`, `40 min`, `3 d 4 h`. */
export function formatAge(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Channels failing in the newest record, with the start of their current failure streak. */
function traceParts(trace: NonNullable<EvidenceInput['trace']>, timeZone: string, ref: string | undefined): string[] {
  const records = [...trace.records].sort((a, b) => Date.parse(a.observedAt) - Date.parse(b.observedAt));
  const last = records.at(-1);
  if (last === undefined) return [];
  const out: string[] = [];
  const failing = Object.entries(last.reachability).filter(([, p]) => p !== undefined && !p.ok);
  // Group channels with the same problem and start ("REST, SNMP timeouts since 10:42").
  const groups = new Map<string, string[]>();
  for (const [channel, probe] of failing) {
    let since = last.observedAt;
    for (let i = records.length - 1; i >= 0; i--) {
      const p = records[i]?.reachability[channel];
      if (p === undefined || p.ok) break;
      since = records[i]?.observedAt ?? since;
    }
    const key = `${problemPhrase(channel, probe?.error)} since ${formatWhen(since, timeZone, ref ?? last.observedAt)}`;
    groups.set(key, [...(groups.get(key) ?? []), CHANNEL_LABEL[channel] ?? channel]);
  }
  for (const [phrase, channels] of groups) out.push(`${channels.join(', ')} ${phrase}`);
  const broken = [
    ...new Set(
      (last.components ?? [])
        .filter((c) => c.status === 'failed' || c.status === 'disabled')
        .map((c) => `${c.kind} "${c.name}" ${c.status}`),
    ),
  ];
  if (broken.length > 0) {
    const more = broken.length > MAX_COMPONENTS ? ` and ${broken.length - MAX_COMPONENTS} more` : '';
    out.push(`${broken.slice(0, MAX_COMPONENTS).join(', ')}${more}`);
  }
  return out;
}

function testsPart(serviceTests: NonNullable<EvidenceInput['serviceTests']>): string | undefined {
  const run = serviceTests.tests.filter((t) => !t.skipped);
  if (run.length === 0) return undefined;
  const failed = run.filter((t) => !t.ok);
  if (failed.length === 0) return `service tests ${run.length}/${run.length} passed`;
  const list = failed.map((t) => (t.error?.kind ? `${t.name} ${t.error.kind}` : t.name)).join(', ');
  return `service tests ${run.length - failed.length}/${run.length} passed (failed: ${list})`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/** The newest `LOG_TAIL_LINES` lines, sorted by their leading timestamp when they have one. */
export function tailLines(lines: readonly string[], count = LOG_TAIL_LINES): string[] {
  const indexed = lines
    .map((line, index) => ({ line: line.trimEnd(), index, at: TIMESTAMP.exec(line)?.[1] }))
    .filter((l) => l.line.trim() !== '' && !l.line.startsWith('#'));
  const stamped = indexed.filter((l) => l.at !== undefined);
  const ordered =
    stamped.length > 0 ? stamped.sort((a, b) => (a.at! < b.at! ? -1 : a.at! > b.at! ? 1 : a.index - b.index)) : indexed;
  return ordered.slice(-count).map((l) => l.line);
}

function logsPart(lines: readonly string[]): string | undefined {
  const tail = tailLines(lines);
  const found: { topic: string; line: string; index: number }[] = [];
  for (const { topic, pattern } of LOG_TOPICS) {
    for (let i = tail.length - 1; i >= 0; i--) {
      const line = tail[i] ?? '';
      if (pattern.test(line)) {
        found.push({ topic, line, index: i });
        break;
      }
    }
  }
  if (found.length === 0) return undefined;
  const specific = found.filter((f) => f.topic !== 'error');
  const newest = (specific.length > 0 ? specific : found).reduce((a, b) => (b.index > a.index ? b : a));
  const text = newest.line.replace(TIMESTAMP, '').trim();
  return `last log lines mention ${found.map((f) => f.topic).join(', ')} ("${clip(text, 120)}")`;
}

export function summariseEvidence(input: EvidenceInput): string {
  const timeZone = input.timeZone ?? 'UTC';
  const ref = input.collectedAt ?? input.serviceTests?.at ?? input.trace?.at;
  const parts: string[] = [];
  if (input.trace !== undefined) parts.push(...traceParts(input.trace, timeZone, ref));
  if (input.serviceTests !== undefined) {
    const tests = testsPart(input.serviceTests);
    if (tests !== undefined) parts.push(tests);
  }
  if (input.logs?.missing !== undefined) parts.push(`no device logs (${clip(input.logs.missing, 120)})`);
  else if (input.logs?.cached === true && input.logs.capturedAt) {
    const age = ref === undefined ? '' : `, ${formatAge(Date.parse(ref) - Date.parse(input.logs.capturedAt))} old`;
    parts.push(`logs from the cached archive captured ${formatWhen(input.logs.capturedAt, timeZone, ref)}${age}`);
  }
  if (input.logLines !== undefined && input.logLines.length > 0) {
    const logs = logsPart(input.logLines);
    parts.push(logs ?? 'last log lines show no camera, microphone, network or error messages');
  }
  if (parts.length === 0) return 'no evidence collected yet';
  return clip(parts.join('; '), SUMMARY_MAX_CHARS);
}
