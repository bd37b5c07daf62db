/**
 * What the NAT targets do to the first packet of a connection, as nf_nat does it: the original
 * port is kept unless a port range excludes it or --random/--random-fully asks for a random one.
 */
import type {HostContext, Hook, IptPacket, NatRecord, RuleRef, TableName} from './types.js'
import type {PortRange, Target} from './compiled.js'

export type NatResult =
  | {readonly kind: 'translated'; readonly packet: IptPacket; readonly nat: NatRecord}
  | {readonly kind: 'drop'}
  | {readonly kind: 'unknown'; readonly reason: string}

type NatTarget = Extract<Target, {kind: 'masquerade' | 'snat' | 'dnat'}>

/** hooks where the kernel allows each NAT target (xt_nat / xt_MASQUERADE `.hooks`) */
const ALLOWED_HOOKS: Readonly<Record<NatTarget['kind'], readonly Hook[]>> = {
  masquerade: ['POSTROUTING'],
  snat: ['POSTROUTING', 'INPUT'],
  dnat: ['PREROUTING', 'OUTPUT'],
}

const NAMES: Readonly<Record<NatTarget['kind'], NatRecord['kind']>> = {masquerade: 'MASQUERADE', snat: 'SNAT', dnat: 'DNAT'}

function hasPorts(packet: IptPacket): boolean {
  return packet.protocol !== 'icmp'
}

function inRange(port: number, range: PortRange): boolean {
  return port >= range.lo && port <= range.hi
}

export function applyNatTarget(
  target: NatTarget,
  rule: RuleRef,
  table: TableName,
  hook: Hook,
  packet: IptPacket,
  host: HostContext,
): NatResult {
  const name = NAMES[target.kind]
  if (table !== 'nat' || !ALLOWED_HOOKS[target.kind].includes(hook)) {
    return {kind: 'unknown', reason: `${name} is not valid in ${table} ${hook} (the kernel refuses such a ruleset)`}
  }
  if (target.kind === 'dnat') {
    let dstPort = packet.dstPort
    if (target.ports && hasPorts(packet) && !inRange(dstPort, target.ports)) {
      if (target.ports.lo !== target.ports.hi) {
        return {kind: 'unknown', reason: `DNAT picks a port of ${target.ports.lo}-${target.ports.hi} by hash`}
      }
      dstPort = target.ports.lo
    }
    const after = {...packet, dst: target.address ?? packet.dst, dstPort}
    return {kind: 'translated', packet: after, nat: {kind: 'DNAT', before: packet, after, randomPort: false, rule}}
  }
  let source: number
  if (target.kind === 'masquerade') {
    // SNAT-06: the new source is the address of the egress interface
    if (packet.outIface === undefined) return {kind: 'unknown', reason: 'MASQUERADE needs the output interface, which routing has not chosen'}
    const address = host.interfaceAddress(packet.outIface, packet.dst)
    // masquerade_tg: no address on the output interface → NF_DROP
    if (address === undefined) return {kind: 'drop'}
    source = address
  } else {
    source = target.address
  }
  let srcPort = packet.srcPort
  let randomPort = target.random && hasPorts(packet)
  if (target.ports && hasPorts(packet) && (target.random || !inRange(srcPort, target.ports))) {
    // the kernel picks a free port of the range; which one is not predictable
    if (target.ports.lo === target.ports.hi) {
      srcPort = target.ports.lo
      randomPort = false
    } else {
      srcPort = inRange(srcPort, target.ports) ? srcPort : target.ports.lo
      randomPort = true
    }
  }
  const after = {...packet, src: source, srcPort}
  return {kind: 'translated', packet: after, nat: {kind: name, before: packet, after, randomPort, rule}}
}
