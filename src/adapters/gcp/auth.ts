/**
 * Credentials for the Google clients, resolved here (never left to the clients: without an auth
 * client and without credentials their first call kills the process): an access token from the
 * variables gcloud and terraform read, else application default credentials. No credentials at
 * all is exit 3 naming the three ways to give them. Tokens never appear in messages.
 */
import {readFileSync} from 'node:fs'

import type {AuthClient} from 'google-auth-library'

import {NoCredentialsError, XccError} from '../../core/errors.js'
import {type CredentialSource, NO_CREDENTIALS_HINT, chooseTokenSource} from '../../core/gcp/settings.js'

export interface Credentials {
  readonly client: AuthClient
  readonly source: CredentialSource
}

const SCOPES = ['https://www.googleapis.com/auth/cloud-platform']

export async function loadCredentials(env: NodeJS.ProcessEnv): Promise<Credentials> {
  const {GoogleAuth, OAuth2Client} = await import('google-auth-library')
  const source = chooseTokenSource(env)
  if (source) {
    let token = source === 'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE' ? undefined : env[source]
    if (source === 'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE') {
      const path = env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE as string
      try {
        token = readFileSync(path, 'utf8').trim()
      } catch (error) {
        throw new XccError(`cannot read CLOUDSDK_AUTH_ACCESS_TOKEN_FILE ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, {exitCode: 3})
      }
    }
    if (!token) throw new XccError(`${source} is empty`, {exitCode: 3, hint: NO_CREDENTIALS_HINT})
    const client = new OAuth2Client()
    client.setCredentials({access_token: token, expiry_date: Date.now() + 55 * 60_000})
    return {client, source}
  }
  // off Google Cloud the metadata server's absence is the expected answer, not a warning for the user
  const emit = process.emitWarning
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as {type?: string} | undefined)?.type
    if (type === 'MetadataLookupWarning') return
    return (emit as (...a: unknown[]) => void).call(process, warning, ...rest)
  }) as typeof process.emitWarning
  try {
    const client = await new GoogleAuth({scopes: SCOPES}).getClient()
    return {client: client as AuthClient, source: 'application default credentials'}
  } catch (error) {
    throw new NoCredentialsError(`no Google Cloud credentials: ${(error as Error).message.split('\n')[0]}`, NO_CREDENTIALS_HINT)
  } finally {
    process.emitWarning = emit
  }
}
