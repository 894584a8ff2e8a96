import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { WebhookConfigError } from '../src/errors.ts'
import { isCertificateError, resolveTls } from '../src/security/tls.ts'
import { makeTestCertificates, type TestCertificates } from './helpers/certs.ts'

let certs: TestCertificates
let garbage: string
let concatenatedCas: string
let derCertificate: string
let brokenCertificate: string
let secondBroken: string

before(() => {
  certs = makeTestCertificates()
  garbage = join(certs.dir, 'garbage.pem')
  writeFileSync(garbage, 'this is not a certificate\n')
  concatenatedCas = join(certs.dir, 'bundle.pem')
  writeFileSync(concatenatedCas, Buffer.concat([certs.otherCa.cert, certs.ca.cert]))
  derCertificate = join(certs.dir, 'ca.der')
  const base64 = certs.ca.cert.toString('latin1').replace(/-----[A-Z ]+-----|\s/g, '')
  writeFileSync(derCertificate, Buffer.from(base64, 'base64'))
  brokenCertificate = join(certs.dir, 'broken.pem')
  writeFileSync(brokenCertificate, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
  secondBroken = join(certs.dir, 'second-broken.pem')
  writeFileSync(secondBroken, Buffer.concat([certs.ca.cert, readFileSync(brokenCertificate)]))
})

after(() => certs.cleanup())

function configError(fn: () => unknown): WebhookConfigError {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof WebhookConfigError, `expected WebhookConfigError, got ${String(error)}`)
    return error
  }
  assert.fail('expected a WebhookConfigError')
}

/** The error's message, and a check that no key or certificate material leaked into it. */
function messageOf(fn: () => unknown): string {
  const error = configError(fn)
  const everything = `${error.stack} ${JSON.stringify(error)}`
  assert.ok(!everything.includes('-----BEGIN'), 'PEM material in the error')
  for (const pair of [certs.ca, certs.client, certs.server]) {
    const body = pair.key.toString('latin1').split('\n')[1] ?? ''
    assert.ok(!everything.includes(body), 'key material in the error')
  }
  return error.message
}

describe('resolveTls', () => {
  test('defaults to verifying the peer', () => {
    assert.deepEqual(resolveTls({}, 'tls'), { rejectUnauthorized: true })
  })

  test('server_name_indication true is the url host (no servername), false is none (an empty one)', () => {
    assert.deepEqual(resolveTls({ server_name_indication: true }, 'tls'), { rejectUnauthorized: true })
    assert.deepEqual(resolveTls({ server_name_indication: false }, 'tls'), {
      rejectUnauthorized: true,
      servername: '',
    })
  })

  test('reads the CA, the client certificate and its key, and keeps the options', () => {
    const resolved = resolveTls(
      {
        cacertfile: certs.ca.certFile,
        certfile: certs.client.certFile,
        keyfile: certs.client.keyFile,
        verify_peer: false,
        server_name_indication: 'localhost',
      },
      'tls',
    )
    assert.deepEqual(resolved, {
      ca: certs.ca.cert,
      cert: certs.client.cert,
      key: certs.client.key,
      rejectUnauthorized: false,
      servername: 'localhost',
    })
  })

  test('a CA file may hold several certificates', () => {
    assert.deepEqual(resolveTls({ cacertfile: concatenatedCas }, 'ssl').ca, readFileSync(concatenatedCas))
  })

  const cases: Array<[string, () => Record<string, unknown>, () => string]> = [
    [
      'an unreadable file',
      () => ({ cacertfile: '/nonexistent/ca.pem' }),
      () => 'tls.cacertfile: cannot read /nonexistent/ca.pem (ENOENT)',
    ],
    [
      'a directory',
      () => ({ cacertfile: certs.dir }),
      () => `tls.cacertfile: cannot read ${certs.dir} (EISDIR)`,
    ],
    [
      'a CA file that is not PEM',
      () => ({ cacertfile: garbage }),
      () => `tls.cacertfile: ${garbage} holds no PEM certificate`,
    ],
    [
      'a DER certificate',
      () => ({ cacertfile: derCertificate }),
      () => `tls.cacertfile: ${derCertificate} holds no PEM certificate`,
    ],
    [
      'a key given as the CA',
      () => ({ cacertfile: certs.ca.keyFile }),
      () => `tls.cacertfile: ${certs.ca.keyFile} holds no PEM certificate`,
    ],
    [
      'a corrupt certificate',
      () => ({ cacertfile: brokenCertificate }),
      () => `tls.cacertfile: ${brokenCertificate}: its certificate is not a valid PEM certificate`,
    ],
    [
      'a corrupt second certificate in a bundle',
      () => ({ cacertfile: secondBroken }),
      () => `tls.cacertfile: ${secondBroken}: certificate 2 of 2 is not a valid PEM certificate`,
    ],
    [
      'a key given as the certificate',
      () => ({ certfile: certs.client.keyFile, keyfile: certs.client.keyFile }),
      () => `tls.certfile: ${certs.client.keyFile} holds no PEM certificate`,
    ],
    [
      'a certificate given as the key',
      () => ({ certfile: certs.client.certFile, keyfile: certs.client.certFile }),
      () => `tls.keyfile: ${certs.client.certFile} holds no PEM private key`,
    ],
    [
      'a key that does not belong to the certificate',
      () => ({ certfile: certs.client.certFile, keyfile: certs.server.keyFile }),
      () =>
        `tls.keyfile: ${certs.server.keyFile} is not the private key of the certificate in ${certs.client.certFile}`,
    ],
    [
      'an unreadable key file',
      () => ({ certfile: certs.client.certFile, keyfile: '/nonexistent/client.key' }),
      () => 'tls.keyfile: cannot read /nonexistent/client.key (ENOENT)',
    ],
    [
      'certfile without keyfile',
      () => ({ certfile: certs.client.certFile }),
      () => 'tls.keyfile: is required with tls.certfile',
    ],
    [
      'keyfile without certfile',
      () => ({ keyfile: certs.client.keyFile }),
      () => 'tls.certfile: is required with tls.keyfile',
    ],
    [
      'a string verify_peer',
      () => ({ verify_peer: 'false' }),
      () => 'tls.verify_peer: must be true or false, got a string',
    ],
    [
      'a numeric verify_peer',
      () => ({ verify_peer: 0 }),
      () => 'tls.verify_peer: must be true or false, got number',
    ],
    [
      'an empty server_name_indication',
      () => ({ server_name_indication: '' }),
      () => 'tls.server_name_indication: must be true, false or a host name, got an empty string',
    ],
    [
      'a numeric server_name_indication',
      () => ({ server_name_indication: 42 }),
      () => 'tls.server_name_indication: must be true, false or a host name, got number',
    ],
    [
      'an empty file path',
      () => ({ cacertfile: '' }),
      () => 'tls.cacertfile: must be the path of a PEM file, got an empty string',
    ],
    [
      'a typo, with the closest key',
      () => ({ verify_peeer: true }),
      () => "tls.verify_peeer: unknown key, did you mean 'tls.verify_peer'?",
    ],
    [
      'a Node option name',
      () => ({ ca: 'x' }),
      () => "tls.ca: unknown key, did you mean 'tls.cacertfile' (a path to a PEM file)?",
    ],
    [
      'a key password',
      () => ({ key_password: 'hunter2' }),
      () =>
        'tls.key_password: unknown key; encrypted private keys are not supported; decrypt it with "openssl pkey -in key.pem -out plain.pem"',
    ],
    ['an unrelated key', () => ({ colour: 'blue' }), () => 'tls.colour: unknown key'],
  ]
  for (const [name, block, message] of cases) {
    test(`rejects ${name}`, () => {
      assert.equal(
        messageOf(() => resolveTls(block(), 'tls')),
        message(),
      )
    })
  }

  test('names the ssl alias when that is what the user wrote', () => {
    assert.equal(
      messageOf(() => resolveTls({ cacertfile: '/nonexistent/ca.pem' }, 'ssl')),
      'ssl.cacertfile: cannot read /nonexistent/ca.pem (ENOENT)',
    )
  })

  test('rejects a block that is not an object', () => {
    assert.equal(
      messageOf(() => resolveTls('/etc/ca.pem', 'tls')),
      'tls: must be an object with keyfile, certfile, cacertfile, verify_peer, server_name_indication',
    )
  })

  test('an encrypted key is refused without asking for, or printing, a passphrase', () => {
    const encrypted = join(certs.dir, 'encrypted.key')
    writeFileSync(
      encrypted,
      '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n',
    )
    assert.equal(
      messageOf(() => resolveTls({ certfile: certs.client.certFile, keyfile: encrypted }, 'tls')),
      `tls.keyfile: ${encrypted} is encrypted; passphrases are not supported`,
    )
  })

  test('a traditional (PKCS#1) RSA key is read; encrypted, it is refused', () => {
    const rsa = join(certs.dir, 'rsa.key')
    const encrypted = join(certs.dir, 'rsa-encrypted.key')
    execFileSync('openssl', ['genrsa', '-traditional', '-out', rsa, '2048'], { stdio: 'ignore' })
    execFileSync(
      'openssl',
      ['rsa', '-in', rsa, '-aes128', '-passout', 'pass:x', '-traditional', '-out', encrypted],
      {
        stdio: 'ignore',
      },
    )
    assert.match(readFileSync(rsa, 'latin1'), /^-----BEGIN RSA PRIVATE KEY-----/)
    assert.match(readFileSync(encrypted, 'latin1'), /Proc-Type: 4,ENCRYPTED/)
    // Parsed as a key: what is wrong is that it belongs to no certificate here.
    assert.equal(
      messageOf(() => resolveTls({ certfile: certs.client.certFile, keyfile: rsa }, 'tls')),
      `tls.keyfile: ${rsa} is not the private key of the certificate in ${certs.client.certFile}`,
    )
    assert.equal(
      messageOf(() => resolveTls({ certfile: certs.client.certFile, keyfile: encrypted }, 'tls')),
      `tls.keyfile: ${encrypted} is encrypted; passphrases are not supported`,
    )
  })

  test('the error for a garbled key shows neither the key nor its decoder message', () => {
    const garbled = join(certs.dir, 'garbled.key')
    const secretLine = 'SECRETKEYMATERIALdoNotPrint0123456789'
    writeFileSync(garbled, `-----BEGIN PRIVATE KEY-----\n${secretLine}\n-----END PRIVATE KEY-----\n`)
    const message = messageOf(() => resolveTls({ certfile: certs.client.certFile, keyfile: garbled }, 'tls'))
    assert.equal(message, `tls.keyfile: ${garbled} is not a valid PEM private key`)
  })
})

describe('isCertificateError', () => {
  test('certificate verification codes are not worth retrying', () => {
    for (const code of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'CERT_HAS_EXPIRED',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
      'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
    ]) {
      assert.equal(isCertificateError(code), true, code)
    }
  })

  test('network errors are', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'EPROTO', undefined]) {
      assert.equal(isCertificateError(code), false, String(code))
    }
  })
})
