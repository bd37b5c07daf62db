/** The doctor view drawn by ink in a terminal: same lines as the text renderer, wrapped to the terminal width. */
import {Box, Text, render} from 'ink'

import type {DoctorReport} from '../core/doctor/report.js'
import {buildDoctorView} from './doctor-view.js'
import {type Line, type Style} from './lines.js'

const STYLE: Record<Style, {color?: string; bold?: boolean; dimColor?: boolean}> = {
  plain: {}, dim: {dimColor: true}, bold: {bold: true}, ok: {color: 'green'}, bad: {color: 'red'}, warn: {color: 'yellow'}, accent: {color: 'cyan'}, code: {color: 'magenta'},
}

export function DoctorView({lines}: {readonly lines: readonly Line[]}) {
  return (
    <Box flexDirection="column">
      {lines.map((line, i) => (
        <Text key={i} wrap="wrap">
          {line.length === 0 ? ' ' : line.map((s, j) => <Text key={j} {...STYLE[s.style ?? 'plain']}>{s.text}</Text>)}
        </Text>
      ))}
    </Box>
  )
}

/** Renders once and leaves the frame on screen. */
export async function renderDoctorInk(report: DoctorReport, stdout: NodeJS.WriteStream): Promise<void> {
  const instance = render(<DoctorView lines={buildDoctorView(report)} />, {stdout, patchConsole: false, exitOnCtrlC: false})
  instance.unmount()
  await instance.waitUntilExit()
}
