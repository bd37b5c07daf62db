/**
 * Preloaded (`node --import`) into every process bench/kubeconfig.ts times, the bare baseline
 * included: on exit it writes to XCC_BENCH_PROBE_OUT the process's CPU time, the HTTP requests it
 * made (node:http and fetch, through diagnostics_channel) and how many of
 * the node:http ones went over a new connection (no keep-alive reuse).
 * Child processes (an exec plugin) are not counted.
 */
import {subscribe} from 'node:diagnostics_channel'
import {writeFileSync} from 'node:fs'
import {performance} from 'node:perf_hooks'

const out = process.env.XCC_BENCH_PROBE_OUT
const requests = {}
let connections = 0
const count = (origin) => void (requests[origin] = (requests[origin] ?? 0) + 1)
subscribe('http.client.request.start', ({request}) => count(`${request.protocol}//${request.getHeader('host') ?? request.host}`))
subscribe('undici:request:create', ({request}) => count(request.origin))
// a node:http request on a new socket (TLS included); fetch's connections are not seen
subscribe('http.client.response.finish', ({request}) => void (request.reusedSocket || connections++))
process.on('exit', () => {
  if (out) writeFileSync(out, JSON.stringify({cpuUs: process.cpuUsage(), requests, connections, uptimeMs: performance.now()}))
})
