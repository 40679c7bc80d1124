import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/**
 * Writes a test CA (`ca.crt`, `ca.key`), a server certificate valid only for `serverName`
 * (`server.crt`, `server.key`; so dialling 127.0.0.1 needs a server-name override) and a client
 * certificate (`client.crt`, `client.key`) into `dir`, all made with openssl and valid one day.
 */
export function makeTestCerts(dir: string, opts: { serverName: string; clientName: string }): void {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=test-ca',
    ],
    dir,
  );
  for (const [name, cn, ext] of [
    ['server', opts.serverName, `subjectAltName=DNS:${opts.serverName}\nextendedKeyUsage=serverAuth\n`],
    ['client', opts.clientName, 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(
      ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`],
      dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  }
}
