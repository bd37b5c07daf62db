/**
 * Name lookups inside the lab's namespaces, for the lab's DNS tests: glibc's own (getent, through
 * the pod's resolv.conf: search path, ndots:5, its cluster DNS) and bounded polling.
 */
import {exec} from '../../src/lab/runtime/exec.js'

/** `getent hosts NAME` inside `ns`: the first address, or undefined when it does not resolve (or takes longer than `timeoutMs`) */
export async function getent(ns: string, name: string, timeoutMs = 15_000): Promise<string | undefined> {
  const out = await exec('ip', ['netns', 'exec', ns, 'getent', 'hosts', name], {timeoutMs})
  return out.code === 0 ? out.stdout.trim().split(/\s+/)[0] : undefined
}

/** polls `probe` every 100 ms until `done` or `timeoutMs`: the last value and the time taken */
export async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 8000): Promise<{value: T; ms: number}> {
  const started = performance.now()
  for (;;) {
    const value = await probe()
    const ms = performance.now() - started
    if (done(value) || ms > timeoutMs) return {value, ms}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** one A query from inside `ns` straight to `server` (c-ares): the addresses, or the error code (ENOTFOUND = NXDOMAIN, EREFUSED, ETIMEOUT) */
export async function query(ns: string, server: string, name: string): Promise<string> {
  const script = `const {Resolver} = require('node:dns').promises
const r = new Resolver({timeout: 1500, tries: 1}); r.setServers([process.argv[1]])
r.resolve4(process.argv[2]).then((a) => console.log(a.sort().join(',')), (e) => console.log(e.code))`
  const out = await exec('ip', ['netns', 'exec', ns, process.execPath, '-e', script, server, name], {timeoutMs: 10_000})
  if (out.code !== 0) throw new Error(`query ${name} @${server} in ${ns}: ${out.stderr}`)
  return out.stdout.trim()
}
