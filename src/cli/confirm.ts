/** Asks on stderr and reads one line of stdin: true only for `yes` (as terraform apply asks). */
import {createInterface} from 'node:readline/promises'

export async function confirmOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({input: process.stdin, output: process.stderr})
  try {
    const answer = await rl.question(`${question}\n  Only 'yes' will be accepted: `)
    return answer.trim() === 'yes'
  } finally {
    rl.close()
  }
}
