/**
 * `xcc lab env` and the cloud in `lab status` through the built CLI, as root: the sh and fish
 * lines (every value quoted; the token file named, the token never printed), `--json`, the cloud's
 * address in `lab status` (text and JSON), and exit 2 without a running lab.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'

import {renderLabEnv} from '../../src/render/lab-env.js'
import {LabCli} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'

describe('xcc lab env', () => {
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('env')
  before(() => {
    requireLabTools()
    const up = cli.run(home, ['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', lab])
    assert.equal(up.status, 0, up.stderr)
    assert.match(up.stdout, /cloud: Compute Engine and GKE APIs of project xcc-lab on http:\/\/127\.0\.0\.1:\d+/)
    assert.match(up.stdout, new RegExp(`eval "\\$\\(xcc lab env --name ${lab}\\)"`))
  })
  after(() => cli.cleanup())

  it('prints sh and fish lines, and JSON naming the files, never the tokens', () => {
    const json = cli.run(home, ['lab', 'env', '--name', lab, '--json'])
    assert.equal(json.status, 0, json.stderr)
    const view = JSON.parse(json.stdout) as {project: string; url: string; viewerTokenFile: string; faultsFile: string; variables: Record<string, string>}
    assert.equal(view.project, 'xcc-lab')
    assert.equal(view.variables.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE, `${view.url}/compute/v1/`)
    assert.equal(view.variables.CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER, `${view.url}/`)
    assert.equal(view.variables.CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER, `${view.url}/`)
    const tokens = [readFileSync(view.variables.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE as string, 'utf8'), readFileSync(view.viewerTokenFile, 'utf8')]
    const sh = cli.run(home, ['lab', 'env', '--name', lab])
    const fish = cli.run(home, ['lab', 'env', '--name', lab, '--shell', 'fish'])
    for (const output of [json.stdout, sh.stdout, fish.stdout]) for (const token of tokens) assert.ok(!output.includes(token.trim()))
    assert.match(sh.stdout, /^export CLOUDSDK_CONFIG='\/\S+\/gcloud'$/m)
    assert.match(fish.stdout, /^set -gx CLOUDSDK_CORE_PROJECT 'xcc-lab';$/m)
    assert.equal(sh.stdout.split('\n').filter((l) => l.startsWith('export ')).length, Object.keys(view.variables).length)
  })

  it('quotes any value so that eval gives it back (sh), and escapes fish\'s quote and backslash', () => {
    const hostile = `/tmp/it's a "lab" $HOME \\ \`x\`;`
    const view = {name: 'x', project: 'p', url: 'http://127.0.0.1:1', viewerTokenFile: '', faultsFile: '', variables: [['KUBECONFIG', hostile]] as const}
    const evaluated = spawnSync('sh', ['-c', 'eval "$(cat)"; printf %s "$KUBECONFIG"'], {input: renderLabEnv(view, 'sh'), encoding: 'utf8'})
    assert.equal(evaluated.stdout, hostile)
    assert.ok(renderLabEnv(view, 'fish').includes(`set -gx KUBECONFIG '/tmp/it\\'s a "lab" $HOME \\\\ \`x\`;';`))
  })

  it('lab status shows the cloud', () => {
    const text = cli.run(home, ['lab', 'status', '--name', lab])
    assert.match(text.stdout, /cloud: Compute Engine and GKE APIs of project xcc-lab on http:\/\/127\.0\.0\.1:\d+/)
    const json = JSON.parse(cli.run(home, ['lab', 'status', '--name', lab, '--json']).stdout) as {cloud: {url: string; project: string}}
    assert.match(json.cloud.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.equal(json.cloud.project, 'xcc-lab')
  })

  it('exits 2 without a running lab of that name', () => {
    const r = cli.run(home, ['lab', 'env', '--name', `${lab}x`])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /^Error: no running lab named \S+ under XCC_HOME /)
  })
})
