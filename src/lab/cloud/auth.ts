/**
 * Who may use a lab's cloud. Two random bearer tokens, written by `xcc lab up` to 0600 files in
 * the lab's state: the admin token may do everything, the viewer token may read. A request
 * without a valid token is a 401; a write with the viewer token is a 403 naming the permission
 * the write needs (`compute.firewalls.create`), as GCP names it. The lab's Kubernetes API
 * servers accept the same tokens, as GKE accepts Google tokens (lab.md, "Cloud APIs").
 */
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'
import type {IncomingHttpHeaders} from 'node:http'

export type CloudRole = 'admin' | 'viewer'

export interface CloudTokens {
  readonly admin: string
  readonly viewer: string
}

export function newCloudTokens(): CloudTokens {
  // the shape of a Google access token, so tools that sniff it are not surprised
  const token = (): string => `ya29.xcc-lab-${randomBytes(24).toString('base64url')}`
  return {admin: token(), viewer: token()}
}

/** the identities the tokens stand for (the operation's `user`, the Kubernetes user name) */
export function cloudAccount(project: string, role: CloudRole): string {
  return `lab-${role}@${project}.iam.gserviceaccount.com`
}

export function createTokenCheck(tokens: CloudTokens): (headers: IncomingHttpHeaders) => CloudRole | undefined {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest()
  const known = [{role: 'admin' as const, digest: digest(tokens.admin)}, {role: 'viewer' as const, digest: digest(tokens.viewer)}]
  return (headers) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')
    if (!match) return undefined
    const given = digest(match[1] as string)
    return known.find((k) => timingSafeEqual(k.digest, given))?.role
  }
}
