/**
 * Certificates for the lab's API servers, made with the `openssl` command (EC P-256 keys):
 * a CA, server certificates (SANs for IPs and DNS names) and client certificates (CN = user,
 * O = groups, as Kubernetes reads them). Each call works in a private directory (mode 0700)
 * made under `workDir` and removed afterwards; key material is passed through files there, never
 * on a command line, and never appears in an error message. A lab passes its own state
 * directory (root's, 0700) as `workDir`: a `lab up` killed with SIGKILL leaves its keys there,
 * where `lab down` removes them, never in the system's temporary directory (the default, for
 * tests and tools that make throwaway certificates).
 */
import {spawn} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {XccError} from '../../core/errors.js'

export interface KeyPair {
  /** PEM private key (PKCS#8) */
  readonly key: string
  /** PEM certificate */
  readonly cert: string
}

export interface ServerCertOptions {
  readonly commonName: string
  /** where the private working directory is made (default: the system's temporary directory) */
  readonly workDir?: string
  readonly ips?: readonly string[]
  readonly dnsNames?: readonly string[]
  readonly days?: number
}

export interface ClientCertOptions {
  readonly commonName: string
  /** where the private working directory is made (default: the system's temporary directory) */
  readonly workDir?: string
  readonly organizations?: readonly string[]
  readonly days?: number
}

const CA_DAYS = 3650
const LEAF_DAYS = 825
/** names go into a distinguished name and a config file: keep them to a plain alphabet */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9:._@ -]{0,63}$/
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
const DNS_NAME = /^[A-Za-z0-9*]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/

function checkName(what: string, value: string): void {
  if (!SAFE_NAME.test(value)) throw new XccError(`invalid ${what} for a certificate: ${JSON.stringify(value)}`, {hint: 'use letters, digits and : . _ @ - (at most 64 characters)'})
}

function run(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, {cwd, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString('utf8')
    })
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(new XccError('the openssl command is not installed: install the openssl package to make the lab\'s certificates', {exitCode: 3, hint: 'apt-get install openssl'}))
      } else reject(new XccError(`cannot run openssl: ${error.message}`, {exitCode: 3}))
    })
    child.once('close', (code) => {
      if (code === 0) resolve()
      else {
        // openssl's own messages name files and options, never key bytes
        const detail = stderr.split('\n').filter((line) => line.trim() !== '' && !line.includes('PRIVATE KEY')).slice(0, 5).join('; ')
        reject(new XccError(`openssl ${args[0]} failed (exit ${code}): ${detail}`, {exitCode: 3}))
      }
    })
  })
}

async function inPrivateDir<T>(workDir: string | undefined, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(workDir ?? tmpdir(), 'xcc-pki-'))
  try {
    return await work(dir)
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

function config(extensions: readonly string[]): string {
  return ['[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', '[ext]', ...extensions, ''].join('\n')
}

function subject(commonName: string, organizations: readonly string[] = []): string {
  return [...organizations.map((o) => `/O=${o}`), `/CN=${commonName}`].join('')
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-noenc']

/** A self-signed CA (EC P-256, about 10 years). */
export async function createCa(commonName: string, days = CA_DAYS, workDir?: string): Promise<KeyPair> {
  checkName('common name', commonName)
  return inPrivateDir(workDir, async (dir) => {
    await writeFile(join(dir, 'openssl.cnf'), config(['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign, digitalSignature', 'subjectKeyIdentifier = hash']), {mode: 0o600})
    await run(['req', '-x509', ...NEW_KEY, '-keyout', 'key.pem', '-out', 'cert.pem', '-days', String(days), '-subj', subject(commonName), '-config', 'openssl.cnf', '-extensions', 'ext'], dir)
    return {key: await readFile(join(dir, 'key.pem'), 'utf8'), cert: await readFile(join(dir, 'cert.pem'), 'utf8')}
  })
}

async function issue(ca: KeyPair, subj: string, extensions: readonly string[], days: number, workDir: string | undefined): Promise<KeyPair> {
  return inPrivateDir(workDir, async (dir) => {
    await writeFile(join(dir, 'ca.key'), ca.key, {mode: 0o600})
    await writeFile(join(dir, 'ca.pem'), ca.cert, {mode: 0o600})
    await writeFile(join(dir, 'openssl.cnf'), config(extensions), {mode: 0o600})
    await run(
      ['req', '-x509', ...NEW_KEY, '-keyout', 'key.pem', '-out', 'cert.pem', '-days', String(days), '-subj', subj, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-config', 'openssl.cnf', '-extensions', 'ext'],
      dir,
    )
    return {key: await readFile(join(dir, 'key.pem'), 'utf8'), cert: await readFile(join(dir, 'cert.pem'), 'utf8')}
  })
}

const LEAF = ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature, keyEncipherment', 'authorityKeyIdentifier = keyid']

/** A TLS server certificate signed by the CA, with IP and DNS subject alternative names. */
export async function issueServerCert(ca: KeyPair, options: ServerCertOptions): Promise<KeyPair> {
  checkName('common name', options.commonName)
  const ips = options.ips ?? ['127.0.0.1']
  const dnsNames = options.dnsNames ?? ['localhost']
  for (const ip of ips) if (!IPV4.test(ip) && ip !== '::1') throw new XccError(`invalid IP address for a certificate: ${JSON.stringify(ip)}`)
  for (const name of dnsNames) if (!DNS_NAME.test(name)) throw new XccError(`invalid DNS name for a certificate: ${JSON.stringify(name)}`)
  const san = [...ips.map((ip) => `IP:${ip}`), ...dnsNames.map((name) => `DNS:${name}`)]
  const extensions = [...LEAF, 'extendedKeyUsage = serverAuth', ...(san.length > 0 ? [`subjectAltName = ${san.join(', ')}`] : [])]
  return issue(ca, subject(options.commonName), extensions, options.days ?? LEAF_DAYS, options.workDir)
}

/** A TLS client certificate signed by the CA: Kubernetes reads CN as the user and each O as a group. */
export async function issueClientCert(ca: KeyPair, options: ClientCertOptions): Promise<KeyPair> {
  checkName('common name', options.commonName)
  for (const o of options.organizations ?? []) checkName('organization', o)
  return issue(ca, subject(options.commonName, options.organizations), [...LEAF, 'extendedKeyUsage = clientAuth'], options.days ?? LEAF_DAYS, options.workDir)
}
