/** The doctor view as text, coloured with chalk only when asked (TTY without NO_COLOR). */
import {Chalk} from 'chalk'

import type {DoctorReport} from '../core/doctor/report.js'
import {visible} from '../core/shell.js'
import {buildDoctorView} from './doctor-view.js'
import {type OutputWidth, PIPE_CUT_WIDTH, layoutLines} from './layout.js'
import {type Line, type Style} from './lines.js'

export function renderLines(lines: readonly Line[], color: boolean): string {
  const chalk = new Chalk({level: color ? 1 : 0})
  const paint: Record<Style, (t: string) => string> = {
    plain: (t) => t, dim: chalk.dim, bold: chalk.bold, ok: chalk.green, bad: chalk.red, warn: chalk.yellow, accent: chalk.cyan, code: chalk.magenta,
  }
  // every segment's text escaped before it is coloured: names from files and APIs never reach the terminal raw
  return `${lines.map((line) => line.map((s) => paint[s.style ?? 'plain'](visible(s.text))).join('').trimEnd()).join('\n')}\n`
}

/** `width`: how the output is fitted (layout.ts#outputWidth); by default as in a pipe: nothing wraps, tcpdump lines are cut at 160 columns */
export function renderDoctorText(report: DoctorReport, options: {color: boolean; width?: OutputWidth}): string {
  return renderLines(layoutLines(buildDoctorView(report), options.width ?? {cut: PIPE_CUT_WIDTH}), options.color)
}
