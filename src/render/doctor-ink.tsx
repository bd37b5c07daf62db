/**
 * The doctor view drawn by ink in a terminal: the same lines as the text renderer, laid out by
 * the same code (layout.ts: wrapped at the terminal's width with a hanging indent, tcpdump lines
 * cut), so both show the same text; ink adds the colours.
 */
import {Static, Text, render} from 'ink'

import type {DoctorReport} from '../core/doctor/report.js'
import {buildDoctorView} from './doctor-view.js'
import {type OutputWidth, layoutLines} from './layout.js'
import {type Line, type Style} from './lines.js'

const STYLE: Record<Style, {color?: string; bold?: boolean; dimColor?: boolean}> = {
  plain: {}, dim: {dimColor: true}, bold: {bold: true}, ok: {color: 'green'}, bad: {color: 'red'}, warn: {color: 'yellow'}, accent: {color: 'cyan'}, code: {color: 'magenta'},
}

const LineView = ({line}: {readonly line: Line}) => (
  <Text wrap="wrap">{line.length === 0 ? ' ' : line.map((s, j) => <Text key={j} {...STYLE[s.style ?? 'plain']}>{s.text}</Text>)}</Text>
)

/**
 * All lines but the last as ink's static output, written once and never redrawn: a live frame
 * taller than the terminal makes ink clear the screen and its scrollback on each redraw (unmount
 * redraws once), which would wipe what the user had on screen. The last line is the live frame,
 * so the output ends as the text renderer's does.
 */
export function DoctorView({lines}: {readonly lines: readonly Line[]}) {
  const last = lines[lines.length - 1]
  return (
    <>
      <Static items={lines.slice(0, -1).map((line, i) => ({line, i}))}>{({line, i}) => <LineView key={i} line={line} />}</Static>
      {last ? <LineView line={last} /> : null}
    </>
  )
}

/** Renders once and leaves the frame on screen; `width` defaults to the terminal's. */
export async function renderDoctorInk(report: DoctorReport, stdout: NodeJS.WriteStream, width?: OutputWidth): Promise<void> {
  const columns = stdout.columns > 0 ? stdout.columns : 80
  const fit = width ?? {wrap: columns, cut: columns}
  const instance = render(<DoctorView lines={layoutLines(buildDoctorView(report), fit)} />, {stdout, patchConsole: false, exitOnCtrlC: false})
  instance.unmount()
  await instance.waitUntilExit()
}
