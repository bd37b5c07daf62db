/** Small deterministic helpers shared by the benchmark generators. */
import {seededRng} from '../test/support/random.js'
import type {SizeParams} from './sizes.js'
import {createHash} from 'node:crypto'

export const REGIONS = ['us-west1', 'us-east1', 'europe-west1', 'asia-east1'] as const

// ---------------------------------------------------------------------------------------------
// small helpers

/** the benchmark's seeded PRNG (the one the tests use) */
export const prng = seededRng

export function intBelow(rng: () => number, n: number): number {
  return Math.floor(rng() * n)
}

export function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[intBelow(rng, items.length)] as T
}

export const pad = (n: number, width = 3): string => String(n).padStart(width, '0')

export function ipText(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`
}

export function ipOf(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0
}

export const netName = (i: number): string => `net-${pad(i)}`
export const clusterName = (c: number): string => `c${pad(c)}`
export const gatewayName = (i: number): string => `gw-${pad(i)}`
export const nodeName = (c: number, j: number): string => `gke-${clusterName(c)}-pool-${pad(j, 2)}`
export const regionOf = (i: number, networks: number): string => REGIONS[Math.min(REGIONS.length - 1, Math.floor((i * REGIONS.length) / networks))] as string
export const clusterNetwork = (c: number, p: SizeParams): number => Math.floor((c * p.networks) / p.clusters)

/** kube-proxy's chain suffix: base32 of sha256, 16 characters. */
export function chainSuffix(text: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  const digest = createHash('sha256').update(text).digest()
  let out = ''
  for (let i = 0; i < 16; i++) out += alphabet[(digest[i] as number) & 31]
  return out
}
