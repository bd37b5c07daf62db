/**
 * Every class of bad topology the doctor issue lists, through the built CLI: exit 2, a message
 * naming the file, the YAML path and the value, no stack trace, nothing on stdout.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DIR = mkdtempSync(join(tmpdir(), 'xcc-bad-'))
const STACK = /^\s+at .+:\d+:\d+\)?$/m

const HEAD = 'apiVersion: xcc/v1\nkind: Topology\nmetadata: {name: bad}\n'
const NET = (range = '10.1.0.0/16', extra = '') => `networks:\n  - name: vpc-a\n    subnets:\n      - {name: a-main, region: us-west1, ipCidrRange: ${range}}${extra}\n`
const VM = (nics: string) => `instances:\n  - {name: vm, zone: us-west1-a, networkInterfaces: [${nics}]}\n`

const CASES: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['malformed YAML', `${HEAD}networks: [{name: a\n`, /bad\.yaml:5:1: malformed YAML/],
  ['a bad CIDR', `${HEAD}${NET('10.1.0.0/33')}`, /networks\[0\]\.subnets\[0\]\.ipCidrRange: invalid CIDR: prefix length must be 0\.\.32 \(value: "10\.1\.0\.0\/33"\)/],
  ['a CIDR with host bits', `${HEAD}${NET('10.1.0.1/16')}`, /invalid CIDR: host bits are set \(the network address is 10\.1\.0\.0\/16\) \(value: "10\.1\.0\.1\/16"\)/],
  ['a bad IP', `${HEAD}${NET()}${VM('{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.999}')}`, /instances\[0\]\.networkInterfaces\[0\]\.networkIP: invalid IPv4 address .*\(value: "10\.1\.0\.999"\)/],
  ['an unknown field', `${HEAD}${NET()}${VM('{network: vpc-a, subnetwork: a-main, networkIp: 10.1.0.5}')}`, /instances\[0\]\.networkInterfaces\[0\]\.networkIp: unknown field "networkIp" \(did you mean "networkIP"\?\)/],
  ['a duplicate name', `${HEAD}${NET()}  - name: vpc-a\n`, /networks\[1\]\.name: duplicate network name "vpc-a" \(first defined at networks\[0\]\.name\) \(value: "vpc-a"\)/],
  ['a dangling reference', `${HEAD}${NET()}routes:\n  - {name: r, network: vpc-a, destRange: 10.9.0.0/16, nextHopInstance: gw-9}\n`, /routes\[0\]\.nextHopInstance: instance "gw-9" does not exist \(value: "gw-9"\)/],
  ['a NIC outside its subnet', `${HEAD}${NET()}${VM('{network: vpc-a, subnetwork: a-main, networkIP: 10.2.0.5}')}`, /instances\[0\]\.networkInterfaces\[0\]\.networkIP: nic0 address is outside subnet a-main \(10\.1\.0\.0\/16\) \(value: "10\.2\.0\.5"\)/],
  ['two NICs of one VM in one network', `${HEAD}${NET()}${VM('{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.5}, {network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.6}')}`, /instances\[0\]\.networkInterfaces\[1\]\.network: nic1 is in the same network as nic0; each NIC must be in a different network \(value: "vpc-a"\)/],
  ['overlapping subnets in one network', `${HEAD}${NET('10.1.0.0/16', '\n      - {name: a-more, region: us-west1, ipCidrRange: 10.1.128.0/20}')}`, /networks\[0\]\.subnets\[1\]\.ipCidrRange: subnet a-more \(10\.1\.128\.0\/20\) overlaps subnet a-main \(10\.1\.0\.0\/16\) in network vpc-a/],
  ['a name GCP would refuse (shell syntax)', `${HEAD}${NET()}${VM('{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.5}').replace('name: vm', 'name: "vm;reboot"')}`, /instances\[0\]\.name: must be a GCP resource name: 1-63 lowercase letters, digits or dashes, starting with a letter and not ending with a dash \(value: "vm;reboot"\)/],
  ['a pod namespace Kubernetes would refuse', `${HEAD}networks:\n  - name: vpc-a\n    subnets:\n      - {name: a-main, region: us-west1, ipCidrRange: 10.1.0.0/16, secondaryIpRanges: [{rangeName: pods, ipCidrRange: 10.8.0.0/14}]}\nclusters:\n  - {name: c, location: us-west1-a, network: vpc-a, subnetwork: a-main, mode: VPC_NATIVE, clusterIpv4Cidr: 10.8.0.0/14, servicesIpv4Cidr: 10.12.0.0/20, nodes: [{name: n1, networkIP: 10.1.0.6, podCidr: 10.8.0.0/24}], pods: [{namespace: .., name: p, node: n1, ip: 10.8.0.10}]}\n`, /clusters\[0\]\.pods\[0\]\.namespace: must be a Kubernetes namespace name \(an RFC 1123 label\): .* \(value: "\.\."\)/],
  ['overlapping subnets across an ACTIVE peering (PEER-08)', `${HEAD}${NET('10.1.0.0/16', '\n    peerings: [{name: a-b, network: vpc-b}]')}  - name: vpc-b\n    subnets: [{name: b-main, region: us-west1, ipCidrRange: 10.1.64.0/18}]\n    peerings: [{name: b-a, network: vpc-a}]\n`, /networks\[1\]\.subnets\[0\]\.ipCidrRange: subnet b-main \(10\.1\.64\.0\/18\) overlaps subnet a-main \(10\.1\.0\.0\/16\) across the active peering of vpc-a and vpc-b \(PEER-08\)/],
]

function run(file: string, json: boolean): ReturnType<typeof spawnSync> {
  return spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'doctor', '--topology', file, '--from', 'vm', '--to', '10.1.0.9:80', ...(json ? ['--json'] : [])], {cwd: ROOT, encoding: 'utf8', timeout: 30_000})
}

describe('xcc doctor with a bad topology file', () => {
  assert.ok(existsSync(join(ROOT, 'dist/commands/doctor/index.js')), 'dist/ is missing: run npm run build (npm test does it)')
  for (const [what, text, message] of CASES) {
    it(`${what}: exit 2, the file, path and value, no stack trace`, () => {
      const file = join(DIR, 'bad.yaml')
      writeFileSync(file, text)
      const human = run(file, false)
      assert.equal(human.status, 2, String(human.stderr))
      assert.match(String(human.stderr), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`), 'names the file')
      assert.match(String(human.stderr), message)
      assert.doesNotMatch(String(human.stderr), STACK)
      assert.equal(human.stdout, '')
      const json = run(file, true)
      assert.equal(json.status, 2)
      const error = JSON.parse(String(json.stdout)).error
      assert.match(error.details.join('\n'), message)
    })
  }
})
