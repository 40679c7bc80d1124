import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** PEM files made by openssl for TLS tests: a test CA, an unrelated CA, and a server certificate. */
export interface TestCertificates {
  /** The CA that signed `cert`. */
  ca: string;
  /** A CA that signed nothing here (a "wrong CA"). */
  otherCa: string;
  /** A file that holds no certificate. */
  notPem: string;
  /** Server key and certificate for IP 127.0.0.1 and DNS localhost, signed by `ca`. */
  key: string;
  cert: string;
}

/** Generates {@link TestCertificates} into `dir` with the real openssl (valid for two days). */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const makeCa = (name: string) =>
    run(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
    );
  makeCa('ca');
  makeCa('other-ca');
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=test-server',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  );
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'server.crt',
  );
  await writeFile(join(dir, 'not-pem.crt'), 'this is not a certificate\n');
  return {
    ca: join(dir, 'ca.crt'),
    otherCa: join(dir, 'other-ca.crt'),
    notPem: join(dir, 'not-pem.crt'),
    key: join(dir, 'server.key'),
    cert: join(dir, 'server.crt'),
  };
}
