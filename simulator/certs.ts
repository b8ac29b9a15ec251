/** Self-signed TLS material for the devices' HTTPS (EC P-256, sha256). Real units use self-signed certs [CODE]. */
import selfsigned from 'selfsigned';
import type { TlsMaterial } from './device.ts';

export async function generateTls(commonName = 'poly-sim'): Promise<TlsMaterial> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: commonName }], {
    algorithm: 'sha256',
    keyType: 'ec',
    notAfterDate: new Date(Date.now() + 5 * 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
