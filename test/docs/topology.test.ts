/**
 * docs/topology.md is the reference of the topology file. Its examples are held to the loader:
 * every complete example (a yaml block starting `apiVersion: xcc/v1`, a json block with
 * `"apiVersion": "xcc/v1"`) must load, and every rejected example (a yaml block whose first line
 * is `# <file>.yaml`) must fail with exactly the lines of the text block that follows it. The
 * startup script shown for the gateway example is the one xcc renders for its guest.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {TopologyError} from '../../src/core/errors.js'
import {guestNics, parseGuestScript, renderGuestScript} from '../../src/core/topology/guest-script.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import {type FencedBlock, fencedBlocks} from './markdown.js'

const blocks = fencedBlocks(readFileSync(fileURLToPath(new URL('../../docs/topology.md', import.meta.url)), 'utf8'))
const REJECTED = /^# (\S+\.(?:ya?ml|json))\n/

function isComplete(block: FencedBlock): boolean {
  if (block.lang === 'yaml') return block.text.startsWith('apiVersion: xcc/v1\n')
  return block.lang === 'json' && /"apiVersion":\s*"xcc\/v1"/.test(block.text)
}

/** The error the loader throws for `text`, or a failed assertion when it loads. */
function loadError(text: string, file: string): TopologyError {
  try {
    parseTopology(text, file)
  } catch (error) {
    assert.ok(error instanceof TopologyError, `expected a TopologyError, got ${(error as Error).stack}`)
    return error
  }
  assert.fail(`${file} loaded, but docs/topology.md shows it as rejected`)
}

describe('docs/topology.md', () => {
  const complete = blocks.filter(isComplete)

  it('has complete examples (the extraction found them)', () => {
    assert.ok(complete.length >= 4, `found ${complete.length} complete examples`)
  })

  for (const block of complete) {
    it(`the ${block.lang} example at line ${block.line} loads`, () => {
      assert.doesNotThrow(() => parseTopology(block.text, `docs-topology-line-${block.line}.${block.lang}`))
    })
  }

  const rejected = blocks.flatMap((block, i) => {
    const m = block.lang === 'yaml' ? REJECTED.exec(block.text) : null
    return m ? [{block, file: m[1] as string, shown: blocks[i + 1]}] : []
  })

  it('has rejected examples (the extraction found them)', () => {
    assert.ok(rejected.length >= 3, `found ${rejected.length} rejected examples`)
  })

  for (const {block, file, shown} of rejected) {
    it(`the rejected example ${file} (line ${block.line}) fails with the lines shown after it`, () => {
      assert.ok(shown && shown.lang === 'text', `a text block with the messages must follow line ${block.line}`)
      const error = loadError(block.text, file)
      const lines = shown.text.trimEnd().split('\n')
      // the CLI prints `Error: <message>`, the details indented by two spaces, then `Hint: <hint>`
      if (lines[0]?.startsWith('Error: ')) assert.equal(lines.shift(), `Error: ${error.message}`)
      if (lines.at(-1)?.startsWith('Hint: ')) assert.equal(lines.pop(), `Hint: ${error.hint}`)
      assert.deepEqual(lines, error.details.map((d) => `  ${d}`))
      assert.equal(error.exitCode, 2)
    })
  }
})

describe('docs/topology.md, the guest as a startup script', () => {
  const scripts = blocks.filter((b) => b.lang === 'sh')
  const gateway = blocks.find((b) => isComplete(b) && b.text.includes('name: gateway-vm\n'))

  it('shows the canonical script of the gateway example, byte for byte, and it reads back into that guest', () => {
    assert.equal(scripts.length, 1, 'one sh block')
    assert.ok(gateway, 'the gateway-vm example')
    const model = parseTopology(gateway.text, 'gateway-vm.yaml')
    const gw = model.topology.instances.find((m) => m.name === 'gw')
    assert.ok(gw)
    const nics = guestNics(model.topology, gw)
    assert.equal(scripts[0]?.text, renderGuestScript(gw.guest, nics))
    assert.deepEqual(parseGuestScript(scripts[0]?.text ?? '', nics), {guest: gw.guest})
  })
})

