// `xcc … | head -1` (or `2>&1 | head -1`): the reader goes away early, and the next write to
// that pipe fails with EPIPE (node ignores SIGPIPE). xcc does not stop there — a command
// half-way through its work would abandon it: `lab up` a half-built lab, a live doctor its
// pods — so it stops writing to that stream (nobody reads it any more) and runs to its end,
// exiting with its own code.
export function keepRunningWhenPipesClose() {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error) => {
      if (error.code !== 'EPIPE' && !(error.code === 'ERR_STREAM_DESTROYED' && stream.xccReaderGone)) throw error
      silence(stream)
    })
  }
}

/** every later write to the stream is dropped (and reported done, so nothing waits to drain) */
function silence(stream) {
  if (stream.xccReaderGone) return
  stream.xccReaderGone = true
  stream.write = (_chunk, encoding, callback) => {
    const done = typeof encoding === 'function' ? encoding : callback
    if (typeof done === 'function') process.nextTick(done)
    return true
  }
}
