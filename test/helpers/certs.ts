import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A PEM certificate and its private key, as files and as contents. */
export interface CertificatePair {
  certFile: string
  keyFile: string
  cert: Buffer
  key: Buffer
}

/** Certificates made for one test file with the `openssl` CLI; never committed. */
export interface TestCertificates {
  /** The temporary directory holding every file. */
  dir: string
  /** A CA that signs `server`, `localhostOnly` and `client`. */
  ca: CertificatePair
  /** A CA nobody here uses: trusting it must not make `server` trusted. */
  otherCa: CertificatePair
  /** Server certificate for 127.0.0.1, ::1 and localhost (SAN IP and DNS), signed by `ca`. */
  server: CertificatePair
  /** Server certificate for `localhost` only (no IP SAN), signed by `ca`: for SNI. */
  localhostOnly: CertificatePair
  /** Client certificate (CN `webhook-client`, clientAuth), signed by `ca`: for mutual TLS. */
  client: CertificatePair
  /** Client certificate (CN `stranger`) signed by `otherCa`. */
  strangerClient: CertificatePair
  /** Self-signed server certificate for 127.0.0.1 and localhost. */
  selfSigned: CertificatePair
  /** Server certificate for 127.0.0.1 and localhost, signed by `ca`, that expired in 2020. */
  expired: CertificatePair
  /** Removes the directory. */
  cleanup(): void
}

const DAYS = '2'

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

function pair(dir: string, name: string): CertificatePair {
  const certFile = join(dir, `${name}.pem`)
  const keyFile = join(dir, `${name}.key`)
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) }
}

// EC P-256 keys: generated in milliseconds, unlike RSA, and accepted by every TLS stack.
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

/** A new key `name.key` and a certificate request `name.csr` for it, to be signed by a CA. */
function makeRequest(dir: string, name: string, commonName: string): void {
  openssl(dir, [
    'req',
    '-new',
    ...NEW_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${commonName}`,
  ])
}

function makeCa(dir: string, name: string, commonName: string): CertificatePair {
  openssl(dir, [
    'req',
    '-x509',
    ...NEW_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    DAYS,
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ])
  return pair(dir, name)
}

function makeSigned(
  dir: string,
  name: string,
  commonName: string,
  extensions: string[],
  ca: string,
): CertificatePair {
  writeFileSync(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`)
  makeRequest(dir, name, commonName)
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    DAYS,
    '-extfile',
    `${name}.ext`,
  ])
  return pair(dir, name)
}

// `openssl x509 -req` cannot back-date a certificate; `openssl ca` can, given a minimal CA database.
function makeExpired(dir: string, name: string, extensions: string[], ca: string): CertificatePair {
  writeFileSync(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`)
  writeFileSync(join(dir, 'index.txt'), '')
  writeFileSync(join(dir, 'serial'), '1000\n')
  const config = [
    '[ca]',
    'default_ca = test_ca',
    '[test_ca]',
    'database = index.txt',
    'new_certs_dir = .',
    `certificate = ${ca}.pem`,
    `private_key = ${ca}.key`,
    'serial = serial',
    'default_md = sha256',
    'policy = any_name',
    '[any_name]',
    'commonName = supplied',
  ]
  writeFileSync(join(dir, 'ca.cnf'), `${config.join('\n')}\n`)
  makeRequest(dir, name, '127.0.0.1')
  openssl(dir, [
    'ca',
    '-batch',
    '-notext',
    '-config',
    'ca.cnf',
    '-in',
    `${name}.csr`,
    '-out',
    `${name}.pem`,
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
    '-extfile',
    `${name}.ext`,
  ])
  return pair(dir, name)
}

function serverExtensions(altNames: string): string[] {
  return [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=${altNames}`,
  ]
}

const CLIENT_EXTENSIONS = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature',
  'extendedKeyUsage=clientAuth',
]

/** Makes a CA, server, client, unrelated-CA and self-signed certificates in a fresh temporary directory. */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-webhook-certs-'))
  try {
    const ca = makeCa(dir, 'ca', 'mqtt-webhook test CA')
    const otherCa = makeCa(dir, 'other-ca', 'unrelated test CA')
    const loopback = 'IP:127.0.0.1,IP:::1,DNS:localhost'
    const server = makeSigned(dir, 'server', '127.0.0.1', serverExtensions(loopback), 'ca')
    const localhostOnly = makeSigned(dir, 'localhost', 'localhost', serverExtensions('DNS:localhost'), 'ca')
    const client = makeSigned(dir, 'client', 'webhook-client', CLIENT_EXTENSIONS, 'ca')
    const strangerClient = makeSigned(dir, 'stranger', 'stranger', CLIENT_EXTENSIONS, 'other-ca')
    openssl(dir, [
      'req',
      '-x509',
      ...NEW_KEY,
      '-keyout',
      'self-signed.key',
      '-out',
      'self-signed.pem',
      '-days',
      DAYS,
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      `subjectAltName=${loopback}`,
    ])
    const selfSigned = pair(dir, 'self-signed')
    const expired = makeExpired(dir, 'expired', serverExtensions(loopback), 'ca')
    const cleanup = () => rmSync(dir, { recursive: true, force: true })
    return { dir, ca, otherCa, server, localhostOnly, client, strangerClient, selfSigned, expired, cleanup }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}
