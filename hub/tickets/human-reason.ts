/**
 * A device problem in words for ticket titles (issue 15: "camera disconnected", "E70 missing", "no answer on REST,
 * SNMP and TCP" instead of `component-failed`). The browser pages say the same with dashboards/web/hezo-text.js, from the same words (words.ts).
 */
import { describeReason } from './reasons.ts';
import { CHANNEL_NAME, COMPONENT_MISSING, STATE_REASON } from './words.ts';

export function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

/** Channels named by evidence lines such as `rest: timeout: connect timed out (2 attempts)`, in order. */
export function failedChannels(evidence: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of evidence) {
    const m = /^(rest|snmp|tcp|ssh|usb):/.exec(line);
    const name = m === null ? undefined : CHANNEL_NAME[m[1]!];
    if (name !== undefined && !out.includes(name)) out.push(name);
  }
  return out;
}

/** One problem code (`component-failed:camera`, `channel-failed:snmp`, `flapping`) in words. */
export function problemText(code: string, evidence: readonly string[] = []): string {
  const [base = '', detail = ''] = code.split(':');
  if (base === 'component-failed' && detail !== '') {
    if (detail === 'camera' && evidence.some((l) => l.startsWith('camera ') && l.includes('E70'))) return 'E70 missing';
    return COMPONENT_MISSING[detail] ?? `${detail} failed`;
  }
  if (base === 'channel-failed' && detail !== '') return `no answer on ${CHANNEL_NAME[detail] ?? detail}`;
  return STATE_REASON[base] ?? describeReason(base);
}

/** Why the device is down/degraded: from its reason, problem codes and evidence lines. */
export function humanReason(reason: string, problems: readonly string[], evidence: readonly string[]): string {
  if (reason === 'all-channels-failed') {
    const channels = failedChannels(evidence);
    return channels.length > 0 ? `no answer on ${joinWords(channels)}` : 'no answer on any channel';
  }
  if (problems.length === 0 && reason === 'component-failed') {
    // Detector evidence: `camera "Poly Studio E70": failed (rest)`.
    const kinds = evidence.flatMap((l) => /^([a-z-]+) ".*": failed/.exec(l)?.[1] ?? []);
    if (kinds.length > 0)
      return humanReason(
        reason,
        kinds.map((k) => `component-failed:${k}`),
        evidence,
      );
  }
  if (problems.length > 0) return [...new Set(problems.map((p) => problemText(p, evidence)))].join(', ');
  return problemText(reason, evidence);
}
