/** Human text for the detector's reason codes (ticket titles and history notes). */
const REASON_TEXT: Record<string, string> = {
  'all-channels-failed': 'every channel failed',
  'device-gone': 'device gone',
  'component-failed': 'component failed',
  'channel-failed': 'one channel failing',
  'call-quality': 'poor call quality',
  temperature: 'high temperature',
  flapping: 'flapping',
  'agent-offline': 'agent offline',
  recovered: 'recovered',
};

export function describeReason(reason: string): string {
  return REASON_TEXT[reason] ?? reason.replaceAll('-', ' ');
}
