/**
 * A lab VM's boot (src/lab/runtime/vm-boot.ts) in a namespace of its own: the startup-script
 * runs inside it as root, its output is the serial console, bounded in time and in size, and
 * readSerialPortOutput pages through it by byte offset as getSerialPortOutput does. Needs root.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {exec} from '../../src/lab/runtime/exec.js'
import {SERIAL_LIMIT, bootInstance, forgetInstance, readSerialPortOutput, serialPath} from '../../src/lab/runtime/vm-boot.js'
import {NetnsLab, requireLabTools} from '../support/netns.js'

const dir = mkdtempSync(join(tmpdir(), 'xcc-boot-'))

async function waitForSerial(instance: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let text = ''
  while (Date.now() < deadline) {
    text = readSerialPortOutput(dir, instance)?.contents ?? ''
    if (pattern.test(text)) return text
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return text
}

describe('a lab VM boots', () => {
  requireLabTools()
  const lab = new NetnsLab('boot')
  after(() => {
    lab.destroy()
    rmSync(dir, {recursive: true, force: true})
  })

  it('its startup-script runs inside its namespace as root, its output is the serial console', async () => {
    const ns = lab.namespace('vm')
    bootInstance(dir, ns, 'vm-1', {'startup-script': 'echo "uid=$(id -u)"\nip -o link show | wc -l\necho to-stderr >&2\nexit 3\n'})
    const text = await waitForSerial('vm-1', /Finished running startup scripts/, 10_000)
    assert.match(text, /startup-script: uid=0\n/)
    assert.match(text, /startup-script: 1\n/, 'it sees only its namespace\'s links (lo)')
    assert.match(text, /startup-script: to-stderr\n/)
    assert.match(text, /startup-script exit status 3\n/)
    const first = readSerialPortOutput(dir, 'vm-1', 0)
    const rest = readSerialPortOutput(dir, 'vm-1', 10)
    assert.equal(rest?.start, 10)
    assert.equal(rest?.contents, first?.contents.slice(10))
    assert.equal(readSerialPortOutput(dir, 'vm-1', 1e9)?.contents, '', 'asking past the end gives nothing')
    forgetInstance(dir, 'vm-1')
    assert.equal(readSerialPortOutput(dir, 'vm-1'), undefined)
  })

  it('a script that runs too long is stopped at its time limit, with its children', async () => {
    const ns = lab.namespace('slow')
    bootInstance(dir, ns, 'slow', {'startup-script': 'echo started\nsleep 300 &\nsleep 300\n'}, 1000)
    const text = await waitForSerial('slow', /is up/, 15_000)
    assert.match(text, /startup-script: started\n/)
    assert.match(text, /startup-script timed out after 1 s\n/)
    let pids = 'unknown'
    for (let i = 0; i < 40 && pids !== ''; i++) {
      pids = (await exec('ip', ['netns', 'pids', ns])).stdout.trim()
      if (pids) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    assert.equal(pids, '', 'nothing of the script is left running')
  })

  it('the serial console keeps at most SERIAL_LIMIT bytes, and the script is not stopped by it', async () => {
    const ns = lab.namespace('loud')
    bootInstance(dir, ns, 'loud', {'startup-script': `head -c ${SERIAL_LIMIT * 2} /dev/zero | tr '\\0' x\necho\necho done > ${join(dir, 'loud-done')}\n`})
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      try {
        statSync(join(dir, 'loud-done'))
        break
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    assert.ok(statSync(join(dir, 'loud-done')).isFile(), 'the script ran to its end')
    assert.ok(statSync(serialPath(dir, 'loud')).size <= SERIAL_LIMIT)
  })

  it('a VM without a startup-script has a console too', async () => {
    const ns = lab.namespace('plain')
    bootInstance(dir, ns, 'plain', undefined)
    const text = await waitForSerial('plain', /is up/, 5000)
    assert.doesNotMatch(text, /startup-script/)
  })
})
