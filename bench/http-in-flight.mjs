/**
 * Preloaded (`node --import`) into the child processes the cloud benchmark times: counts the
 * HTTP requests the process makes (node:http, what gaxios's node-fetch uses, and fetch/undici)
 * and the most in flight at once (sent, not yet fully answered), from Node's diagnostics
 * channels, and writes them as JSON to $XCC_BENCH_HTTP_STATS when the process exits. It
 * observes; it changes nothing.
 */
import {subscribe} from 'node:diagnostics_channel'
import {writeFileSync} from 'node:fs'

const stats = {requests: 0, maxInFlight: 0, inFlight: 0}
const open = new WeakSet()
const start = ({request}) => {
  open.add(request)
  stats.requests += 1
  stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight)
}
const done = ({request}) => {
  if (open.delete(request)) stats.inFlight -= 1
}
subscribe('http.client.request.start', start)
subscribe('http.client.response.finish', ({request, response}) => {
  // finished = the response's headers are in; the request is in flight until its body is read
  if (response.complete) done({request})
  else response.once('end', () => done({request})).once('close', () => done({request}))
})
subscribe('undici:request:create', start)
subscribe('undici:request:trailers', done)
subscribe('undici:request:error', done)
process.on('exit', () => {
  if (process.env.XCC_BENCH_HTTP_STATS) writeFileSync(process.env.XCC_BENCH_HTTP_STATS, JSON.stringify(stats))
})
