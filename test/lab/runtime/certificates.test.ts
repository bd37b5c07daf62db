import assert from 'node:assert/strict'
import {X509Certificate, createPrivateKey} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {createCa, issueClientCert, issueServerCert} from '../../../src/lab/runtime/certificates.js'
import {XccError} from '../../../src/core/errors.js'

describe('pki (openssl)', () => {
  const empty = mkdtempSync(join(tmpdir(), 'xcc-nopath-'))
  after(() => rmSync(empty, {recursive: true, force: true}))

  it('makes a CA, a server certificate and a client certificate that chain to it', async () => {
    const started = performance.now()
    const ca = await createCa('xcc-lab-test-ca')
    const server = await issueServerCert(ca, {commonName: 'kube-apiserver', ips: ['127.0.0.1'], dnsNames: ['localhost']})
    const client = await issueClientCert(ca, {commonName: 'admin', organizations: ['system:masters', 'lab']})
    const ms = performance.now() - started
    console.log(`# pki: CA + server + client certificates in ${ms.toFixed(0)} ms`)

    const caCert = new X509Certificate(ca.cert)
    assert.equal(caCert.ca, true)
    assert.match(caCert.subject, /CN=xcc-lab-test-ca/)
    const years = (Date.parse(caCert.validTo) - Date.now()) / (365 * 24 * 3600 * 1000)
    assert.ok(years > 9.9 && years < 10.1, `the CA is valid for about 10 years (${years.toFixed(2)})`)
    assert.equal(createPrivateKey(ca.key).asymmetricKeyDetails?.namedCurve, 'prime256v1')

    const serverCert = new X509Certificate(server.cert)
    assert.equal(serverCert.ca, false)
    assert.equal(serverCert.verify(caCert.publicKey), true)
    assert.equal(serverCert.checkIssued(caCert), true)
    assert.equal(serverCert.checkIP('127.0.0.1'), '127.0.0.1')
    assert.equal(serverCert.checkHost('localhost'), 'localhost')
    assert.equal(serverCert.checkPrivateKey(createPrivateKey(server.key)), true)

    const clientCert = new X509Certificate(client.cert)
    assert.equal(clientCert.verify(caCert.publicKey), true)
    assert.match(clientCert.subject, /O=system:masters/)
    assert.match(clientCert.subject, /O=lab/)
    assert.match(clientCert.subject, /CN=admin/)
    assert.ok(clientCert.keyUsage?.includes('1.3.6.1.5.5.7.3.2'), 'extended key usage: clientAuth')
  })

  it('refuses names that do not fit a subject', async () => {
    await assert.rejects(createCa('bad/name'), XccError)
    const ca = await createCa('ok')
    await assert.rejects(issueClientCert(ca, {commonName: 'x', organizations: ['a=b']}), XccError)
    await assert.rejects(issueServerCert(ca, {commonName: 'x', ips: ['not-an-ip']}), XccError)
  })

  it('says to install openssl when it is missing', async () => {
    const path = process.env.PATH
    process.env.PATH = empty
    try {
      await assert.rejects(createCa('x'), (e: unknown) => e instanceof XccError && /install the openssl package/.test(e.message))
    } finally {
      process.env.PATH = path
    }
  })
})
