import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {commandAfterPositionals, shellQuote, splitAtDoubleDash} from '../../src/cli/argv.js'

describe('splitAtDoubleDash', () => {
  it('gives everything after the first -- unchanged, also flags and a second --', () => {
    assert.deepEqual(splitAtDoubleDash(['--name', 'L', 'pod/a/b/c', '--', 'echo', '--name', 'x', '-n', '--json', '--help', '--', 'y']), {
      own: ['--name', 'L', 'pod/a/b/c'],
      passThrough: ['echo', '--name', 'x', '-n', '--json', '--help', '--', 'y'],
    })
  })
  it('without -- there is nothing to pass through', () => assert.deepEqual(splitAtDoubleDash(['host', 'echo']), {own: ['host', 'echo']}))
  it('an empty command after --', () => assert.deepEqual(splitAtDoubleDash(['host', '--']), {own: ['host'], passThrough: []}))
})

describe('commandAfterPositionals (a command line without --)', () => {
  const split = (argv: string[]) => commandAfterPositionals(argv, {positionals: 1, valueFlags: ['--name']})
  it('the command starts at the first word after the host, flag-like words included', () => {
    assert.deepEqual(split(['node/x', 'tcpdump', '-i', 'eth0']), {own: ['node/x'], command: ['tcpdump', '-i', 'eth0']})
    assert.deepEqual(split(['--name', 'lab', 'node/x', 'ip', 'addr']), {own: ['--name', 'lab', 'node/x'], command: ['ip', 'addr']})
  })
  it('flags right after the host are still xcc\'s; a value flag takes the next word', () => {
    assert.deepEqual(split(['node/x', '--name', 'lab', '--json', 'ls', '--json']), {own: ['node/x', '--name', 'lab', '--json'], command: ['ls', '--json']})
    assert.deepEqual(split(['--name=lab', 'node/x', 'ls']), {own: ['--name=lab', 'node/x'], command: ['ls']})
  })
  it('no command: everything is xcc\'s', () => assert.deepEqual(split(['--name', 'lab', 'node/x']), {own: ['--name', 'lab', 'node/x'], command: []}))
})

describe('shellQuote', () => {
  it('leaves safe words bare and single-quotes the rest so that sh reads them back unchanged', () => {
    assert.deepEqual(['tcpdump', '-i', 'eth0', 'net', '10.193.0.0/16', '--name=x'].map(shellQuote), ['tcpdump', '-i', 'eth0', 'net', '10.193.0.0/16', '--name=x'])
    assert.equal(shellQuote('a b'), "'a b'")
    assert.equal(shellQuote('$HOME'), "'$HOME'")
    assert.equal(shellQuote("it's"), "'it'\\''s'")
    assert.equal(shellQuote(''), "''")
  })
})
