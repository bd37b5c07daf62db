/**
 * The scenario table: every topology fixture with a flow, its expected verdict and diagnosis, and
 * what else its story requires. Used by the scenario tests and the equivalence property test.
 */
import assert from 'node:assert/strict'

import type {DoctorReport} from '../../src/core/doctor/report.js'

export interface Scenario {
  fixture: string
  from: string
  to: string
  verdict: DoctorReport['verdict']
  code: string | null
  also?: (report: DoctorReport) => void
}

export const last = (steps: DoctorReport['forward']) => steps[steps.length - 1]

export const SCENARIOS: Scenario[] = [
  {
    fixture: 'seed-001-peered-vpcs-missing-snat', from: 'frontend', to: 'lb/backend-ilb', verdict: 'unreachable', code: 'POD_SNAT_MISSING',
    also: (r) => {
      const skip = r.forward.find((s) => s.step === 'SKIP_GKE_POD_IP_MASQUERADING')
      assert.equal(skip?.reason, 'DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE')
      assert.equal(skip?.nonMasqueradeRange, '10.0.0.0/8')
      assert.equal(last(r.forward)?.step, 'DELIVER', 'the SYN reaches the backend')
      assert.equal(last(r.return)?.cause, 'PRIVATE_TRAFFIC_TO_INTERNET', 'the SYN-ACK is lost in vpc-a')
      assert.ok(r.diagnosis?.evidence.some((e) => e.includes('IP 10.132.0.10.40000 > 10.193.0.3.32191: Flags [S]')), 'the tcpdump line of the seed')
      assert.ok(r.diagnosis?.evidence.some((e) => /exportCustomRoutes/.test(e)), 'why vpc-a has no route to the pod')
      assert.match(r.diagnosis?.fix[0] ?? "", /^xcc masquerade add --context frontend --cidr 10\.193\.0\.0\/16 /, "the fix is the exact xcc masquerade command (issue 5)")
    },
  },
  {
    // seed 001 with the ip-masq-agent: the ConfigMap lists 10.0.0.0/8, which holds VPC A (SNAT-03, SNAT-06, SNAT-12)
    fixture: 'seed-001-ip-masq-agent', from: 'frontend', to: 'lb/backend-ilb', verdict: 'unreachable', code: 'POD_SNAT_MISSING',
    also: (r) => {
      const skip = r.forward.find((s) => s.step === 'SKIP_GKE_POD_IP_MASQUERADING')
      assert.equal(skip?.reason, 'DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE')
      assert.equal(skip?.nonMasqueradeRange, '10.0.0.0/8')
      assert.deepEqual([skip?.rules?.[0]?.chain, skip?.rules?.[0]?.rule.split(' -m ')[0]], ['IP-MASQ', '-d 10.0.0.0/8'])
      assert.equal(last(r.return)?.cause, 'PRIVATE_TRAFFIC_TO_INTERNET', 'the SYN-ACK is lost in vpc-a')
    },
  },
  {fixture: 'seed-001-fixed-node-masquerade', from: 'frontend', to: 'lb/backend-ilb', verdict: 'reachable', code: null,
    also: (r) => assert.equal(r.forward.find((s) => s.step === 'NAT')?.nat?.after.src, '10.209.0.2')},
  {
    fixture: 'seed-000-gateways-missing-snat', from: 'c1/default/ubuntu', to: 'lb/c2-forwarding-rules', verdict: 'unreachable', code: 'GATEWAY_SNAT_MISSING',
    also: (r) => {
      assert.ok(r.diagnosis?.evidence.some((e) => e.includes('10.120.0.0/16 (the pod range of c1) overlaps 10.120.0.0/16 (the pod range of cluster c2')), 'names the duplicate pod ranges')
      assert.equal(last(r.return)?.cause, 'ROUTE_WRONG_NETWORK')
      // §4: the SNAT is a line of the gateway's startup script (survives a reboot), without `-o`
      const fix = r.diagnosis?.fixes[0]
      assert.equal(fix?.applies, 'gcloud')
      assert.match(fix?.script ?? '', /^iptables -t nat -C POSTROUTING -s 10\.120\.0\.0\/16 ! -d 10\.120\.0\.0\/16 -j MASQUERADE .*\|\| iptables -t nat -A POSTROUTING -s 10\.120\.0\.0\/16 ! -d 10\.120\.0\.0\/16 -j MASQUERADE$/m)
      assert.doesNotMatch(fix?.script ?? '', / -o /)
      assert.ok(fix?.commands.some((c) => /^gcloud compute instances add-metadata c1-gw-1 --zone us-west1-a --metadata-from-file startup-script=c1-gw-1-startup\.sh$/.test(c)), 'installs it as the startup script')
      assert.ok(fix?.commands.some((c) => c.startsWith("gcloud compute ssh c1-gw-1 --zone us-west1-a --command 'sudo google_metadata_script_runner startup'")), 'and runs it now')
      assert.equal(r.alternatives?.length, 2, 'two healthy backends, two paths')
    },
  },
  {fixture: 'seed-000-fixed-gateway-snat', from: 'c1/default/ubuntu', to: 'lb/c2-forwarding-rules', verdict: 'reachable', code: null},
  {fixture: 'vpc-native-pair-works', from: 'a', to: 'b/default/server', verdict: 'reachable', code: null},
  {fixture: 'shadowed-custom-route', from: 'a', to: 'b/default/server', verdict: 'reachable', code: null,
    also: (r) => assert.match(r.forward.find((s) => s.warning)?.warning ?? '', /a-to-b-ilb-via-vm .*ROUTE-06/)},
  {fixture: 'ip-masq-list-misses-pod-range', from: 'a', to: 'b/default/server', verdict: 'reachable', code: null,
    also: (r) => assert.equal(r.findings.find((f) => f.check === 'nat.pod-range-not-masqueraded')?.status, 'warn')},
  {fixture: 'egress-denied', from: 'a', to: 'b/default/server', verdict: 'unreachable', code: 'FIREWALL_RULE',
    also: (r) => assert.deepEqual([r.forward[r.forward.length - 1]?.firewall?.name, r.forward[r.forward.length - 1]?.firewall?.direction], ['a-deny-egress-to-b-nodes', 'EGRESS'])},
  {fixture: 'gateway-forwards', from: 'a', to: '10.40.0.10:443', verdict: 'reachable', code: null},
  {fixture: 'service-traffic-policy-local', from: 'a', to: 'b/default/server', verdict: 'reachable', code: null,
    also: (r) => {
      assert.equal(r.alternatives, undefined, 'only the node with an endpoint serves (SVC-06)')
      assert.match(r.forward.find((s) => s.step === 'ANALYZE_LOAD_BALANCER_BACKEND')?.detail ?? '', /gke-b-node-2 \(externalTrafficPolicy Local/)
      assert.equal(r.forward.find((s) => s.step === 'DELIVER')?.packet.src, '10.20.0.10', 'Local keeps the client address')
    }},
  {fixture: 'backends-without-intra-cluster-firewall', from: 'a', to: 'b/default/server', verdict: 'ambiguous', code: 'FIREWALL_RULE',
    also: (r) => assert.deepEqual(r.alternatives?.map((a) => a.verdict), ['reachable', 'unreachable'])},
  {fixture: 'overlapping-pod-ranges', from: 'a', to: 'b/default/server', verdict: 'unreachable', code: 'OVERLAPPING_RANGES'},
  {fixture: 'no-route', from: 'a', to: '10.99.0.5:443', verdict: 'unreachable', code: 'NO_ROUTE'},
  {fixture: 'peering-one-sided', from: 'a', to: 'b/default/server', verdict: 'unreachable', code: 'PEERING_INACTIVE'},
  {fixture: 'peering-not-transitive', from: 'a', to: 'b/default/server', verdict: 'unreachable', code: 'PEERING_NOT_TRANSITIVE'},
  {fixture: 'routes-based-pods-not-exported', from: 'instance/vm-a', to: '10.56.0.5:8080', verdict: 'unreachable', code: 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED'},
  {
    fixture: 'firewall-blocks-pod-range', from: 'a', to: 'b/default/server', verdict: 'unreachable', code: 'FIREWALL_RULE',
    also: (r) => {
      const drop = last(r.forward)
      assert.equal(drop?.firewall?.name, 'implied-deny-ingress')
      assert.equal(drop?.firewall?.direction, 'INGRESS')
      assert.equal(drop?.at, 'node/gke-b-node-1')
    },
  },
  {fixture: 'ilb-cross-region-no-global-access', from: 'a', to: 'b/default/server', verdict: 'unreachable', code: 'FORWARDING_RULE_REGION_MISMATCH',
    // the forwarding rule is the Service's (GKE owns it): the annotation is the fix, not a gcloud update GKE would undo
    also: (r) => assert.match(r.diagnosis?.fix[0] ?? '', /^kubectl --context b -n default annotate service server networking\.gke\.io\/internal-load-balancer-allow-global-access=true /)},
  {fixture: 'ilb-wrong-port', from: 'a', to: '10.11.0.100:8443', verdict: 'unreachable', code: 'FORWARDING_RULE_MISMATCH'},
  {fixture: 'ilb-no-backends', from: 'a', to: 'b/default/server', verdict: 'unreachable', code: 'FORWARDING_RULE_NO_INSTANCES'},
  {fixture: 'ilb-health-check-blocked', from: 'a', to: 'b/default/server', verdict: 'unreachable', code: 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK'},
  {fixture: 'gateway-without-can-ip-forward', from: 'a', to: '10.40.0.10:443', verdict: 'unreachable', code: 'FOREIGN_IP_DISALLOWED'},
  {fixture: 'gateway-ip-forward-off', from: 'a', to: '10.40.0.10:443', verdict: 'unreachable', code: 'GUEST_FORWARDING_DISABLED'},
  {fixture: 'gateway-forward-chain-drops', from: 'a', to: '10.40.0.10:443', verdict: 'unreachable', code: 'GUEST_FORWARDING_DISABLED',
    also: (r) => assert.match(last(r.forward)?.detail ?? '', /FORWARD policy DROP/)},
  {fixture: 'clusterip-from-another-cluster', from: 'a', to: 'b/default/server', verdict: 'unreachable', code: 'CLUSTER_IP_FROM_OUTSIDE_CLUSTER'},
  {fixture: 'unknown-address', from: 'a', to: '10.11.0.250:80', verdict: 'unreachable', code: 'UNKNOWN_INTERNAL_ADDRESS'},
  {fixture: 'pod-port-not-served', from: 'a', to: '10.21.0.5:9090', verdict: 'unreachable', code: 'DESTINATION_NOT_LISTENING'},
  {
    fixture: 'node-rule-not-understood', from: 'a', to: 'b/default/server', verdict: 'unknown', code: 'INSUFFICIENT_INFO',
    also: (r) => {
      const abort = last(r.forward)
      assert.equal(abort?.step, 'ABORT')
      assert.equal(abort?.rules?.[0]?.line, 6, 'names the line it could not evaluate')
    },
  },
  {
    // xcc dns link from a to b: the name has 5 dots (ndots:5), so it is asked as it is first, and
    // the stub domain sends it to the responder, whose record is the ILB of default/server
    fixture: 'dns-linked', from: 'a/default/client', to: 'server.default.b.clusters.xcc.test:80', verdict: 'reachable', code: null,
    also: (r) => {
      assert.equal(r.dns?.address, '10.11.0.100')
      assert.deepEqual(r.dns?.steps.map((s) => [s.query, s.answer]), [['server.default.b.clusters.xcc.test.', 'address']])
      assert.equal(r.flow.packet.dst, '10.11.0.100', 'the path is traced to the resolved address')
      assert.equal(last(r.forward)?.step, 'DELIVER')
    },
  },
  {
    // a name the responder's zone does not hold: every candidate of the search path is NXDOMAIN
    fixture: 'dns-name-not-found', from: 'a/default/client', to: 'nosuch.default.b.clusters.xcc.test:80', verdict: 'unreachable', code: 'DNS_NAME_NOT_FOUND',
    also: (r) => {
      assert.deepEqual(r.dns?.steps.map((s) => s.answer), ['NXDOMAIN', 'NXDOMAIN', 'NXDOMAIN', 'NXDOMAIN'])
      assert.equal(r.dns?.steps[1]?.query, 'nosuch.default.b.clusters.xcc.test.default.svc.cluster.local.')
      assert.equal(r.flow.packet.dst, '10.20.0.254', "the path shown is the pod's query to its cluster DNS pod")
      assert.equal(r.flow.packet.dstPort, 53)
    },
  },
  {
    // the responder still serves the zone, but kube-dns has no stub domain for it (as after xcc dns unlink)
    fixture: 'dns-stub-domain-missing', from: 'a/default/client', to: 'server.default.b.clusters.xcc.test:80', verdict: 'unreachable', code: 'DNS_STUB_DOMAIN_MISSING',
    also: (r) => assert.match(r.diagnosis?.fix[0] ?? '', /^xcc dns link --from-context a --to-context b /),
  },
  {
    // FW-01: the stub server is a pod of b, and b-deny-dns-from-a (priority 900) denies a's ranges udp/tcp 53 before b-allow-from-a: the query's own udp 53 is denied
    fixture: 'dns-server-unreachable', from: 'a/default/client', to: 'server.default.b.clusters.xcc.test:80', verdict: 'unreachable', code: 'DNS_SERVER_UNREACHABLE',
    also: (r) => {
      assert.equal(r.flow.packet.src, '10.20.0.254', 'the query leaves from the cluster DNS pod')
      assert.deepEqual([r.flow.packet.dst, r.flow.packet.dstPort, r.flow.packet.protocol], ['10.21.0.53', 53, 'udp'])
      assert.equal(last(r.forward)?.cause, 'FIREWALL_RULE')
      assert.equal(last(r.forward)?.firewall?.name, 'b-deny-dns-from-a')
      assert.match(r.diagnosis?.fix[0] ?? '', /gcloud compute firewall-rules create .* --priority 899 .* --rules udp:53 /)
    },
  },
  {
    // the responder serves 10.11.0.99, the ILB of default/server is 10.11.0.100 now
    fixture: 'dns-record-stale', from: 'a/default/client', to: 'server.default.b.clusters.xcc.test:80', verdict: 'unreachable', code: 'DNS_RECORD_STALE',
    also: (r) => {
      assert.equal(r.flow.packet.dst, '10.11.0.99')
      assert.ok(r.diagnosis?.summary.includes('10.11.0.100'))
    },
  },
]
