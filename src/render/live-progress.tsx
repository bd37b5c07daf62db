/**
 * Progress of a live doctor run on stderr: in a terminal an ink view that redraws the probes as
 * they run; elsewhere (CI, pipes) one plain line per change. Never on stdout (the report's).
 */
import type {LiveEvent} from '../core/probe/run.js'
import {visible} from '../core/shell.js'

export interface LiveProgress {
  onEvent(event: LiveEvent): void
  /** removes the live view (before the report is printed) */
  close(): Promise<void>
}

const MARK: Record<LiveEvent['state'], string> = {running: '…', done: '✓', failed: '✗', skipped: '-'}

export function plainProgress(stream: NodeJS.WritableStream): LiveProgress {
  return {
    onEvent: (e) => void stream.write(`xcc: ${MARK[e.state]} ${visible(e.title)}${e.detail ? ` — ${visible(e.detail)}` : ''}\n`),
    close: async () => undefined,
  }
}

export async function inkProgress(stream: NodeJS.WriteStream): Promise<LiveProgress> {
  const {Box, Text, render} = await import('ink')
  const events = new Map<string, LiveEvent>()
  const COLOR: Record<LiveEvent['state'], string> = {running: 'cyan', done: 'green', failed: 'red', skipped: 'gray'}
  const View = ({list}: {readonly list: readonly LiveEvent[]}) => (
    <Box flexDirection="column">
      {list.map((e) => (
        <Text key={e.id} wrap="truncate-end">
          <Text color={COLOR[e.state]}>{` ${MARK[e.state]} `}</Text>
          <Text>{visible(e.title)}</Text>
          {e.detail ? <Text dimColor>{`  ${visible(e.detail)}`}</Text> : null}
        </Text>
      ))}
    </Box>
  )
  const instance = render(<View list={[]} />, {stdout: stream, patchConsole: false, exitOnCtrlC: false})
  return {
    onEvent(e) {
      events.set(e.id, e)
      instance.rerender(<View list={[...events.values()]} />)
    },
    async close() {
      instance.clear()
      instance.unmount()
      await instance.waitUntilExit()
    },
  }
}
