/**
 * `xcc doctor --live --to NAME:PORT` drawn for people: the name's DNS steps come before the path,
 * and the live section shows the pod's answer and the DNS packets each capture saw before the
 * path probe. The fixtures are the --json of test/lab/dns-live-doctor.test.ts on the lab: the
 * short name `backend` from a/default/client (reached), and a name under b's stub domain whose
 * server b's firewall no longer admits (DNS_SERVER_UNREACHABLE).
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {liveReportSchema} from '../../src/core/probe/report-schema.js'
import type {LiveReport} from '../../src/core/probe/report.js'
import {renderDoctorText} from '../../src/render/doctor-text.js'
import {assertGoldenText} from '../support/golden.js'

const load = (name: string): LiveReport => JSON.parse(readFileSync(new URL(`../fixtures/live/${name}.json`, import.meta.url), 'utf8')) as LiveReport

for (const name of ['dns-name-resolved', 'dns-name-server-unreachable', 'dns-name-mismatch']) {
  describe(`the live report of ${name}`, () => {
    const report = load(name)
    const text = renderDoctorText(report, {color: false, width: {wrap: 100, cut: 100}})
    const lines = text.split('\n')

    it('is a valid live report', () => assert.ok(liveReportSchema.safeParse(report).success))

    it('matches its golden file', () => assertGoldenText(`live/${name}.txt`, text))

    it('shows the name\'s DNS steps before the path, and the pod\'s answer before the path probe', () => {
      const nameLine = lines.findIndex((l) => l.startsWith('Name '))
      const path = lines.findIndex((l) => l.startsWith('Forward path'))
      assert.ok(nameLine > 0 && nameLine < path)
      const resolve = lines.findIndex((l) => l.startsWith('  resolve  '))
      const probe = lines.findIndex((l) => l.startsWith('  probe    '))
      assert.ok(resolve > 0 && resolve < probe)
      assert.ok(lines.some((l) => l.startsWith('  dns at   node/')), 'the DNS captures')
    })
  })
}
