/**
 * The JSON Web Tokens a cluster's ServiceAccount tokens are (RFC 7519, JWS compact form, RS256),
 * signed with the cluster's own key as kube-apiserver signs them with
 * `--service-account-signing-key-file`. The header's `kid` is what kube-apiserver puts there:
 * the base64url SHA-256 of the public key in DER (SubjectPublicKeyInfo) form.
 */
import {type KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPair, sign, verify} from 'node:crypto'

export type Claims = Record<string, unknown>

export interface SigningKey {
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  readonly kid: string
}

function keyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({type: 'spki', format: 'der'})).digest('base64url')
}

/** A signing key from a PEM private key (RSA), or a new 2048-bit one. */
export async function signingKey(pem?: string): Promise<SigningKey> {
  const privateKey = pem
    ? createPrivateKey(pem)
    : await new Promise<KeyObject>((resolve, reject) => generateKeyPair('rsa', {modulusLength: 2048}, (error, _pub, key) => (error ? reject(error) : resolve(key))))
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error('the ServiceAccount signing key must be an RSA key')
  const publicKey = createPublicKey(privateKey)
  return {privateKey, publicKey, kid: keyId(publicKey)}
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

export function signJwt(key: SigningKey, claims: Claims): string {
  const input = `${encode({alg: 'RS256', kid: key.kid})}.${encode(claims)}`
  return `${input}.${sign('RSA-SHA256', Buffer.from(input), key.privateKey).toString('base64url')}`
}

function decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** The claims of a token this key signed (RS256, a matching `kid` when present), else undefined. */
export function verifyJwt(key: SigningKey, token: string): Claims | undefined {
  const parts = token.split('.')
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return undefined
  const header = decodePart(parts[0]!)
  if (!header || header.alg !== 'RS256' || (header.kid !== undefined && header.kid !== key.kid)) return undefined
  if (!verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), key.publicKey, Buffer.from(parts[2]!, 'base64url'))) return undefined
  return decodePart(parts[1]!)
}

/** The claims of a JWT, unverified: for tests and tools that read what a token says. */
export function peekJwt(token: string): {header: Claims; claims: Claims} | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  const header = decodePart(parts[0]!)
  const claims = decodePart(parts[1]!)
  return header && claims ? {header, claims} : undefined
}
