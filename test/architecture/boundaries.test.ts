/**
 * Each forbidden arrow of the architecture is a lint error: a small offending file, linted as if
 * it lived in the folder, must be refused by `xcc/architecture` (and the same import from a folder
 * allowed to make it must pass, so the rule is not simply refusing everything).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {ESLint} from 'eslint'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const eslint = new ESLint({cwd: ROOT})

async function architectureErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, {filePath: `${ROOT}${file}`})
  return (result?.messages ?? []).filter((m) => m.ruleId === 'xcc/architecture').map((m) => m.message)
}

const ARROWS: ReadonlyArray<{readonly rule: string; readonly file: string; readonly code: string; readonly allowedIn: string}> = [
  {rule: 'core imports nothing outside core', file: 'src/core/doctor/offender.ts', code: "import {loadKubeContexts} from '../../adapters/kube/index.js'\nexport const x = loadKubeContexts\n", allowedIn: 'src/app/offender.ts'},
  {rule: 'core does no I/O', file: 'src/core/trace/offender.ts', code: "import {readFileSync} from 'node:fs'\nexport const x = readFileSync\n", allowedIn: 'src/adapters/offender.ts'},
  {rule: 'core never imports a cloud or Kubernetes client', file: 'src/core/probe/offender.ts', code: "import type {KubeConfig} from '@kubernetes/client-node'\nexport type X = KubeConfig\n", allowedIn: 'src/adapters/kube/offender.ts'},
  {rule: 'core/probe never imports core/masquerade', file: 'src/core/probe/offender.ts', code: "import {planAdd} from '../masquerade/plan.js'\nexport const x = planAdd\n", allowedIn: 'src/app/offender.ts'},
  {rule: 'core/masquerade never imports core/probe', file: 'src/core/masquerade/offender.ts', code: "import {buildProbePod} from '../probe/manifests.js'\nexport const x = buildProbePod\n", allowedIn: 'src/app/offender.ts'},
  {rule: 'adapters never import the lab', file: 'src/adapters/offender.ts', code: "import {readState} from '../lab/runtime/state.js'\nexport const x = readState\n", allowedIn: 'src/app/offender.ts'},
  {rule: 'the lab never imports adapters', file: 'src/lab/runtime/offender.ts', code: "import {loadKubeContexts} from '../../adapters/kube/index.js'\nexport const x = loadKubeContexts\n", allowedIn: 'src/app/offender.ts'},
  {rule: 'the lab never imports a client library', file: 'src/lab/kube/offender.ts', code: "import {KubeConfig} from '@kubernetes/client-node'\nexport const x = KubeConfig\n", allowedIn: 'src/adapters/kube/offender.ts'},
  {rule: 'lab/compile never imports core/trace', file: 'src/lab/compile/offender.ts', code: "import {evaluateVpcFirewall} from '../../core/trace/firewall.js'\nexport const x = evaluateVpcFirewall\n", allowedIn: 'src/core/doctor/offender.ts'},
  {rule: 'lab/compile stays pure (no lab runtime)', file: 'src/lab/compile/offender.ts', code: "import {readState} from '../runtime/state.js'\nexport const x = readState\n", allowedIn: 'src/lab/offender.ts'},
  {rule: 'commands reach adapters only through app', file: 'src/commands/doctor/offender.ts', code: "import {loadTopologyFile} from '../../adapters/topology-file/index.js'\nexport const x = loadTopologyFile\n", allowedIn: 'src/app/offender.ts'},
  {rule: 'commands reach the lab only through app', file: 'src/commands/lab/offender.ts', code: "import {labUp} from '../../lab/lifecycle.js'\nexport const x = labUp\n", allowedIn: 'src/app/offender.ts'},
  {rule: 'the CLI kit never imports use cases', file: 'src/cli/offender.ts', code: "import {runDoctor} from '../app/doctor.js'\nexport const x = runDoctor\n", allowedIn: 'src/commands/offender.ts'},
  {rule: 'use cases do not know the CLI kit', file: 'src/app/offender.ts', code: "import {XccCommand} from '../cli/base-command.js'\nexport const x = XccCommand\n", allowedIn: 'src/commands/offender.ts'},
  {rule: 'renderers never import the lab', file: 'src/render/offender.ts', code: "import type {LabState} from '../lab/runtime/state.js'\nexport type X = LabState\n", allowedIn: 'src/app/offender.ts'},
  {rule: 'checks never import adapters', file: 'src/checks/offender.ts', code: "import {loadTopologyFile} from '../adapters/topology-file/index.js'\nexport const x = loadTopologyFile\n", allowedIn: 'src/app/offender.ts'},
]

/** the same import written from another folder: rewrite the relative path for the new depth */
function movedCode(code: string, from: string, to: string): string {
  const depth = (f: string): number => f.split('/').length - 2
  return code.replace(/'(\.\.?\/[^']+)'/, (_all, spec: string) => {
    const absolute = new URL(spec, `file:///${from}`).pathname.slice(1)
    const up = '../'.repeat(depth(to))
    return `'${up || './'}${absolute.replace(/^src\//, '')}'`
  })
}

describe('architecture boundaries (eslint xcc/architecture)', () => {
  for (const arrow of ARROWS) {
    it(`${arrow.rule}: refused in ${arrow.file}, accepted in ${arrow.allowedIn}`, async () => {
      const refused = await architectureErrors(arrow.file, arrow.code)
      assert.equal(refused.length, 1, `expected one architecture error in ${arrow.file}, got ${JSON.stringify(refused)}`)
      const accepted = await architectureErrors(arrow.allowedIn, movedCode(arrow.code, arrow.file, arrow.allowedIn))
      assert.deepEqual(accepted, [], `${arrow.allowedIn} should be allowed`)
    })
  }

  it('the tree as it is breaks none of them', async () => {
    const results = await eslint.lintFiles(['src'])
    const errors = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'xcc/architecture').map((m) => `${r.filePath}:${m.line} ${m.message}`))
    assert.deepEqual(errors, [])
  })
})
