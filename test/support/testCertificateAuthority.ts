import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A throwaway CA made with the system openssl, issuing server and client certificates for mTLS tests. */
export class TestCertificateAuthority {
  readonly dir = mkdtempSync(join(tmpdir(), 'meshlog-ca-'));
  readonly certFile = join(this.dir, 'ca.pem');
  private readonly keyFile = join(this.dir, 'ca.key');

  constructor(name = 'meshlog test CA') {
    execFileSync(
      'openssl',
      ['req', '-x509', ...ecKey, '-days', '1', '-subj', `/CN=${name}`, '-keyout', this.keyFile, '-out', this.certFile],
      { stdio: 'ignore' },
    );
  }

  get cert(): Buffer {
    return readFileSync(this.certFile);
  }

  /** A certificate for `commonName`; servers get localhost / 127.0.0.1 as subject alternative names. */
  issue(commonName: string, kind: 'server' | 'client', fileName = commonName): IssuedCertificate {
    const keyFile = join(this.dir, `${fileName}.key`);
    const csrFile = join(this.dir, `${fileName}.csr`);
    const certFile = join(this.dir, `${fileName}.pem`);
    const extFile = join(this.dir, `${fileName}.ext`);
    writeFileSync(
      extFile,
      kind === 'server' ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n',
    );
    execFileSync('openssl', ['req', ...ecKey, '-subj', `/CN=${commonName}`, '-keyout', keyFile, '-out', csrFile], { stdio: 'ignore' });
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        csrFile,
        '-CA',
        this.certFile,
        '-CAkey',
        this.keyFile,
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        extFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
  }
}
