/**
 * `xcc snapshot` round trip (issue 14): for every bundled scenario and the lab property test's
 * random topologies, `xcc lab up T`, then — with nothing but what `xcc lab env` prints — `xcc
 * snapshot` twice: the two outputs are byte-identical, and the static doctor gives the same
 * verdict and diagnosis on the snapshot T' as on T for every flow drawn (the random flows of the
 * property test, more of them) and for a scenario's own flow (its `# flow:` comment; the dns-*
 * scenarios name their destination, which the doctor resolves as the pod's cluster DNS would). The snapshot reads the lab through the real Node clients (xcc's
 * GCP adapters) and the lab's kube APIs.
 *
 *   XCC_ROUNDTRIP_COUNT=<n>   random topologies (default 12)
 *   XCC_ROUNDTRIP_ONLY=<text>  only the cases whose name holds it
 *   XCC_ROUNDTRIP_SEED=<n>    replay one seed only (and no scenario)
 *
 * Needs root, iproute2, iptables, conntrack.
 */
import assert from 'node:assert/strict'
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {canonicalFlow} from '../../../src/adapters/templates/scenarios.js'
import {CHECKS} from '../../../src/checks/index.js'
import {evaluateDoctorTo} from '../../../src/core/doctor/dns.js'
import {type DoctorReport, evaluateDoctor} from '../../../src/core/doctor/report.js'
import {resolveFlow} from '../../../src/core/trace/endpoints.js'
import type {Model} from '../../../src/core/topology/model-types.js'
import {parseTopology} from '../../../src/core/topology/parse.js'
import {LabCli, ROOT} from '../../support/lab-cli.js'
import {requireLabTools} from '../../support/netns.js'
import {seededRng} from '../../support/random.js'
import {type RandomFlow, randomFlows} from '../../support/random-flows.js'
import {Dice, randomTopology} from '../../support/random-topology.js'

const FLOWS = 40
const SCENARIOS = join(ROOT, 'templates', 'scenarios')

interface Case {
  readonly name: string
  readonly text: string
  readonly seed: number
}

function cases(): Case[] {
  const only = process.env.XCC_ROUNDTRIP_SEED
  const count = Number(process.env.XCC_ROUNDTRIP_COUNT ?? 12)
  const random = (seed: number): Case => ({name: `random topology, seed ${seed}`, text: yaml.dump(randomTopology(seed).input, {lineWidth: -1}), seed})
  if (only) return [random(Number(only))]
  const bundled = readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml')).sort().map((f, i) => ({name: `scenario ${f.replace(/\.yaml$/, '')}`, text: readFileSync(join(SCENARIOS, f), 'utf8'), seed: 1000 + i}))
  const all = [...bundled, ...Array.from({length: count}, (_, i) => random(i + 1))]
  const filter = process.env.XCC_ROUNDTRIP_ONLY
  return filter ? all.filter((c) => c.name.includes(filter)) : all
}

/** what must agree: the verdict, the diagnosis, and where each direction ends (a scenario's own flow may name its destination: resolved first) */
function outcome(model: Model, flow: Pick<RandomFlow, 'from' | 'to'>, named = false): string {
  let report: DoctorReport
  try {
    report = named ? evaluateDoctorTo(model, flow.from, flow.to, undefined, CHECKS) : evaluateDoctor(model, resolveFlow(model, flow.from, flow.to), CHECKS)
  } catch (error) {
    return `not traced: ${(error as Error).message}`
  }
  const end = (steps: DoctorReport['forward']): string => {
    const last = steps.at(-1)
    return last ? `${last.step}${last.cause ? `[${last.cause}]` : ''}` : '-'
  }
  return `${report.verdict} ${report.diagnosis?.code ?? '-'} (forward ends ${end(report.forward)}, return ends ${end(report.return)})`
}

describe('xcc snapshot round trip: lab up T, snapshot T\', the same doctor answers', () => {
  requireLabTools()
  const cli = new LabCli()
  const home = cli.home()
  after(() => cli.cleanup())

  for (const c of cases()) {
    it(c.name, (t) => {
      const lab = cli.lab(`rt${c.seed}`)
      const file = join(home, `${lab}.yaml`)
      writeFileSync(file, c.text)
      const up = cli.run(home, ['lab', 'up', '--topology', file, '--name', lab])
      assert.equal(up.status, 0, up.stderr)
      try {
        const printed = cli.run(home, ['lab', 'env', '--name', lab, '--json'])
        assert.equal(printed.status, 0, printed.stderr)
        const env = (JSON.parse(printed.stdout) as {variables: Record<string, string>}).variables
        const snap = (): string => {
          const r = cli.run(home, ['snapshot', '--node-rules'], {env, timeoutMs: 120_000})
          assert.equal(r.status, 0, `xcc snapshot: ${r.stderr}`)
          return r.stdout
        }
        const first = snap()
        assert.equal(snap(), first, 'two snapshots of an unchanged lab are byte-identical')
        const before = parseTopology(c.text, file)
        const after = parseTopology(first, 'snapshot')
        const flows = randomFlows(before, new Dice(seededRng(c.seed)), FLOWS)
        const differ: string[] = []
        // a scenario's own flow (its `# flow:` comment), a DNS name included: the same answer on T'
        const own = canonicalFlow(c.text)
        if (own) {
          const a = outcome(before, own, true)
          const b = outcome(after, own, true)
          t.diagnostic(`the scenario's flow ${own.from} → ${own.to}: ${a}`)
          if (a !== b) differ.push(`${own.from} → ${own.to} [the scenario's flow]\n    T:  ${a}\n    T': ${b}`)
        }
        for (const flow of flows) {
          const a = outcome(before, flow)
          const b = outcome(after, flow)
          if (a !== b) differ.push(`${flow.from} → ${flow.to} [${flow.kind}]\n    T:  ${a}\n    T': ${b}`)
        }
        t.diagnostic(`${flows.length} flows, ${first.split('\n').length} lines of snapshot`)
        if (differ.length > 0) {
          const out = join(tmpdir(), `xcc-roundtrip-${c.seed}-snapshot.yaml`)
          writeFileSync(out, first)
          writeFileSync(join(tmpdir(), `xcc-roundtrip-${c.seed}.yaml`), c.text)
          assert.fail(`the doctor answers differently on ${differ.length} of ${flows.length} flows (T: ${join(tmpdir(), `xcc-roundtrip-${c.seed}.yaml`)}, T': ${out})\n  ${differ.join('\n  ')}`)
        }
      } finally {
        cli.run(home, ['lab', 'down', '--name', lab])
      }
    })
  }
})
