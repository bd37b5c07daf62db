/** `xcc doctor --flows` for people: one line per flow, what it was expected to do and what it did. */
import {Chalk} from 'chalk'

import {type FlowOutcome, describeResult} from '../core/doctor/flows.js'
import {visible} from '../core/shell.js'

export function renderFlowsText(outcomes: readonly FlowOutcome[], options: {color: boolean}): string {
  const chalk = new Chalk({level: options.color ? 1 : 0})
  const lines: string[] = []
  for (const o of outcomes) {
    const mark = o.met ? chalk.green('✓') : chalk.red('✗')
    const got = describeResult(o.result)
    lines.push(`${mark} ${visible(o.from)} → ${visible(o.to)}   expected ${o.expect}${o.met ? '' : `, ${chalk.red(`got ${got}`)}`}`)
    if (!o.met && o.result.diagnosis) lines.push(`    ${visible(o.result.diagnosis.summary)}`)
  }
  const missed = outcomes.filter((o) => !o.met).length
  lines.push('', missed === 0 ? chalk.green(`Every flow (${outcomes.length}) behaves as expected.`) : chalk.red(`${missed} of ${outcomes.length} flows do not behave as expected.`))
  return `${lines.join('\n')}\n`
}
