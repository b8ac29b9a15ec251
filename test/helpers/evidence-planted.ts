/** Secrets planted in test log archives (issue 7): none may survive into stored attachments or logs. */
export const PLANTED = {
  devicePassword: 'Dev1ce-Pa55word!',
  community: 'c0mmun1ty-S3cret',
  session: `PS${'A1b2C3d4'.repeat(6)}`,
  xsrf: 'xsrf-7f3a9c1e5b',
  jsonPassword: 'json-pw-93jd83',
} as const;

/** Text files as a device would log them, with the secrets planted the ways the brief lists. */
export function plantedFiles(): Map<string, string> {
  return new Map([
    ['logs/system.log', `2025-01-01 10:00:00.000 I/Auth: login admin password=${PLANTED.devicePassword}\n`],
    ['logs/snmpd.conf', `rocommunity ${PLANTED.community} default\nsnmp.readCommunity=${PLANTED.community}\n`],
    [
      'logs/http.log',
      `Cookie: session_id=${PLANTED.session}; XSRF-TOKEN=${PLANTED.xsrf}\nGET /x?session_id=${PLANTED.session}\n`,
    ],
    ['logs/config.json', `{"password":"${PLANTED.jsonPassword}","snmpCommunity":"${PLANTED.community}","x":1}\n`],
  ]);
}
