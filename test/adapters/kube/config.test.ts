/**
 * Which kubeconfig loadKubeContexts reads, as kubectl does: an explicit path, else the
 * KUBECONFIG list (first definition and first current-context win, missing files skipped),
 * else ~/.kube/config; and exit 2 naming the file for every kubeconfig problem. No server is
 * contacted here.
 */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {loadKubeContexts} from '../../../src/adapters/kube/index.js'
import {XccError} from '../../../src/core/errors.js'

const TOKEN = 'kubeconfig-token-that-must-stay-secret'

let dir: string

/** a kubeconfig with one context per entry, each on its own cluster `<context>-cluster` */
function kubeconfig(file: string, contexts: Record<string, string>, current?: string): string {
  const path = join(dir, file)
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: Object.entries(contexts).map(([name, server]) => ({name: `${name}-cluster`, cluster: {server, 'insecure-skip-tls-verify': true}})),
    users: [{name: 'user', user: {token: TOKEN}}],
    contexts: Object.keys(contexts).map((name) => ({name, context: {cluster: `${name}-cluster`, user: 'user'}})),
    ...(current ? {'current-context': current} : {}),
  }
  writeFileSync(path, yaml.dump(config))
  return path
}

function exit2(pattern: RegExp, check: (error: XccError) => void = () => {}): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof XccError, String(error))
    assert.equal(error.exitCode, 2)
    assert.match(error.message, pattern)
    check(error)
    return true
  }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'xcc-kubeconfig-test-'))
})

after(() => {
  rmSync(dir, {recursive: true, force: true})
})

describe('kubeconfig resolution', () => {
  it('reads an explicit kubeconfig before KUBECONFIG', async () => {
    const explicit = kubeconfig('explicit', {one: 'http://127.0.0.1:1'}, 'one')
    const listed = kubeconfig('listed', {two: 'http://127.0.0.1:2'}, 'two')
    const contexts = await loadKubeContexts({kubeconfig: explicit, env: {KUBECONFIG: listed}})
    assert.deepEqual(contexts.contexts, ['one'])
    assert.equal(contexts.current, 'one')
    assert.equal(contexts.open('one').server, 'http://127.0.0.1:1')
  })

  it('merges the KUBECONFIG list: the first current-context and the first definition of a name win', async () => {
    const first = kubeconfig('first', {shared: 'http://127.0.0.1:11', a: 'http://127.0.0.1:12'}, 'a')
    const second = kubeconfig('second', {shared: 'http://127.0.0.1:21', b: 'http://127.0.0.1:22'}, 'b')
    const contexts = await loadKubeContexts({env: {KUBECONFIG: `${first}:${second}`}})
    assert.deepEqual(contexts.contexts, ['shared', 'a', 'b'])
    assert.equal(contexts.current, 'a')
    assert.equal(contexts.open('shared').server, 'http://127.0.0.1:11')
    assert.equal(contexts.open('b').server, 'http://127.0.0.1:22')
    // reversed, the other file decides
    const reversed = await loadKubeContexts({env: {KUBECONFIG: `${second}:${first}`}})
    assert.equal(reversed.current, 'b')
    assert.equal(reversed.open('shared').server, 'http://127.0.0.1:21')
  })

  it('skips KUBECONFIG entries that do not exist, and the current context comes from the first file that sets one', async () => {
    const none = kubeconfig('no-current', {x: 'http://127.0.0.1:31'})
    const some = kubeconfig('with-current', {y: 'http://127.0.0.1:32'}, 'y')
    const contexts = await loadKubeContexts({env: {KUBECONFIG: `${join(dir, 'absent')}::${none}:${some}`}})
    assert.deepEqual(contexts.contexts, ['x', 'y'])
    assert.equal(contexts.current, 'y')
  })

  it('reads ~/.kube/config when neither a path nor KUBECONFIG is given', async () => {
    const home = join(dir, 'home')
    mkdirSync(join(home, '.kube'), {recursive: true})
    writeFileSync(join(home, '.kube', 'config'), readFileSync(kubeconfig('home-config', {home: 'http://127.0.0.1:41'}, 'home')))
    const contexts = await loadKubeContexts({env: {HOME: home, KUBECONFIG: ''}})
    assert.deepEqual(contexts.contexts, ['home'])
    assert.equal(contexts.current, 'home')
  })

  it('treats an empty file as an empty kubeconfig', async () => {
    const empty = join(dir, 'empty')
    writeFileSync(empty, '')
    const contexts = await loadKubeContexts({kubeconfig: empty, env: {}})
    assert.deepEqual(contexts.contexts, [])
    assert.equal(contexts.current, undefined)
    assert.throws(() => contexts.open('any'), exit2(/^kube context "any" not found in /, (e) => assert.equal(e.hint, 'the kubeconfig defines no contexts')))
  })
})

describe('kubeconfig problems (exit 2, naming the file)', () => {
  it('fails when there is no kubeconfig at all, instead of client-node falling back to http://localhost:8080', async () => {
    const home = join(dir, 'empty-home')
    mkdirSync(home, {recursive: true})
    await assert.rejects(
      loadKubeContexts({env: {HOME: home}}),
      exit2(new RegExp(`^no kubeconfig: ${join(home, '.kube', 'config')} does not exist and KUBECONFIG is not set$`), (e) => assert.match(e.hint ?? '', /get-credentials/)),
    )
  })

  it('fails for an explicit kubeconfig that does not exist', async () => {
    const missing = join(dir, 'missing-kubeconfig')
    await assert.rejects(loadKubeContexts({kubeconfig: missing, env: {}}), exit2(new RegExp(`^kubeconfig ${missing} does not exist$`)))
  })

  it('fails when no file listed in KUBECONFIG exists, naming them', async () => {
    const a = join(dir, 'gone-a')
    const b = join(dir, 'gone-b')
    await assert.rejects(loadKubeContexts({env: {KUBECONFIG: `${a}:${b}`}}), exit2(new RegExp(`none of the files listed in KUBECONFIG exists \\(${a}, ${b}\\)`)))
  })

  it('fails for unparsable YAML with the position, without quoting the file', async () => {
    const broken = join(dir, 'broken')
    writeFileSync(broken, `users:\n- name: u\n  user:\n    token: ${TOKEN}\n   bad: [\n`)
    await assert.rejects(
      loadKubeContexts({env: {KUBECONFIG: broken}}),
      exit2(new RegExp(`^kubeconfig ${broken} is not valid YAML: .+ \\(line \\d+, column \\d+\\)$`), (e) => {
        assert.ok(!`${e.message}${e.hint}${e.details.join('')}`.includes(TOKEN))
      }),
    )
  })

  it('fails for a document that is not a kubeconfig, and for an invalid entry', async () => {
    const list = join(dir, 'a-list')
    writeFileSync(list, '- a\n- b\n')
    await assert.rejects(loadKubeContexts({kubeconfig: list, env: {}}), exit2(new RegExp(`^kubeconfig ${list} is not a kubeconfig`)))
    const invalid = join(dir, 'no-server')
    writeFileSync(invalid, yaml.dump({clusters: [{name: 'c', cluster: {}}], contexts: [], users: []}))
    await assert.rejects(loadKubeContexts({kubeconfig: invalid, env: {}}), exit2(new RegExp(`^kubeconfig ${invalid} is invalid: clusters\\[0\\]\\.cluster\\.server is missing$`)))
  })

  it('fails to open a context whose cluster or user the kubeconfig does not define', async () => {
    const path = join(dir, 'dangling')
    writeFileSync(
      path,
      yaml.dump({
        clusters: [{name: 'c', cluster: {server: 'https://127.0.0.1:6443'}}],
        users: [],
        contexts: [
          {name: 'no-cluster', context: {cluster: 'elsewhere', user: 'u'}},
          {name: 'no-user', context: {cluster: 'c', user: 'u'}},
        ],
      }),
    )
    const contexts = await loadKubeContexts({kubeconfig: path, env: {}})
    assert.throws(() => contexts.open('no-cluster'), exit2(/^kube context "no-cluster" uses cluster "elsewhere", which .* does not define$/))
    assert.throws(() => contexts.open('no-user'), exit2(/^kube context "no-user" uses user "u", which .* does not define$/))
  })

  it('names every KUBECONFIG file when a context is not found', async () => {
    const a = kubeconfig('nf-a', {a: 'http://127.0.0.1:51'})
    const b = kubeconfig('nf-b', {b: 'http://127.0.0.1:52'})
    const contexts = await loadKubeContexts({env: {KUBECONFIG: `${a}:${b}`}})
    assert.throws(() => contexts.open('c'), exit2(new RegExp(`^kube context "c" not found in KUBECONFIG \\(${a}:${b}\\)$`), (e) => assert.equal(e.hint, 'available contexts: a, b')))
  })
})

describe('start-up cost', () => {
  it('imports @kubernetes/client-node only lazily (type imports at module level)', () => {
    const adapters = new URL('../../../src/adapters/kube/', import.meta.url)
    const files = readdirSync(adapters).filter((name) => name.endsWith('.ts'))
    assert.ok(files.includes('index.ts'))
    for (const file of files) {
      const source = readFileSync(new URL(file, adapters), 'utf8')
      for (const line of source.split('\n').filter((l) => /^\s*(import|export)\b.*['"]@kubernetes\/client-node['"]/.test(l))) {
        assert.match(line, /^import type /, `${file}: ${line}`)
      }
    }
    assert.match(readFileSync(new URL('index.ts', adapters), 'utf8'), /await import\('@kubernetes\/client-node'\)/)
  })
})
