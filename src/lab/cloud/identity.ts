/**
 * What GCE adds to every resource that the topology does not hold: a numeric `id` (derived
 * from the resource's selfLink, so it is the same on every read and across restarts), a
 * `creationTimestamp` (the lab's start for what the topology held then, the moment of the insert
 * for what came through the API; kept in memory) and fingerprints (a hash of what the resource
 * holds, so that a stale read-modify-write is refused as GCE refuses it).
 */
import {createHash} from 'node:crypto'

export function resourceId(selfLink: string): string {
  const digest = createHash('sha256').update(selfLink).digest()
  // a uint64 with the top bit clear, as a decimal string (the JSON form of a uint64)
  return (digest.readBigUInt64BE(0) & 0x7fffffffffffffffn).toString()
}

export function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value) ?? '').digest().subarray(0, 8).toString('base64')
}

/** RFC 3339 with the offset GCE prints (`-07:00`); the lab prints UTC as `+00:00` */
export function rfc3339(date: Date): string {
  return date.toISOString().replace('Z', '+00:00')
}

export class CreationTimes {
  private readonly times = new Map<string, string>()
  private readonly started: string

  constructor(start: Date) {
    this.started = rfc3339(start)
  }

  /** the time `selfLink` was created: its insert, else the lab's start */
  of(selfLink: string): string {
    return this.times.get(selfLink) ?? this.started
  }

  created(selfLink: string, at = new Date()): void {
    this.times.set(selfLink, rfc3339(at))
  }

  deleted(selfLink: string): void {
    this.times.delete(selfLink)
  }
}

/**
 * Fingerprints are bytes in Compute's discovery document: gcloud (apitools) decodes the one it
 * read and sends it back URL-safe base64-encoded (`_` for `/`), so both alphabets are the same value.
 */
export function sameFingerprint(given: string, current: unknown): boolean {
  const normal = (text: string): string => text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '')
  return typeof current === 'string' && normal(given) === normal(current)
}
