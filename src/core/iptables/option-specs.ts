/**
 * The options iptables knows, as its extensions declare them (libxt_*.c): how many values each
 * takes, whether `!` may precede it, and which of them the evaluator models. The rule compiler
 * resolves option names against these tables the way iptables' getopt_long does: an exact name,
 * else a unique prefix (`--dpo 80`), and `--name=value` as `--name value`.
 */

export interface OptionSpec {
  /** how many values follow the option (0 for a flag such as --syn or --limit-iface-out) */
  readonly values: number
  readonly negatable: boolean
  /** the name the compiler works with when the option has synonyms (`--source-port` → `--sport`) */
  readonly canonical?: string
}

export interface ModuleSpec {
  readonly options: Readonly<Record<string, OptionSpec>>
  /** options iptables knows but the evaluator does not model: the rule becomes unsupported */
  readonly unmodelled: readonly string[]
  /** protocol number the module needs after a non-negated -p (libxt_tcp: "TCP match requires '-p tcp'") */
  readonly protocol?: number
  /** an option the module cannot do without ("comment: option --comment must be specified") */
  readonly required?: readonly string[]
}

const flag = (negatable: boolean): OptionSpec => ({values: 0, negatable})
const one = (negatable: boolean, canonical?: string): OptionSpec => (canonical ? {values: 1, negatable, canonical} : {values: 1, negatable})

const PORTS = {
  '--sport': one(true), '--source-port': one(true, '--sport'),
  '--dport': one(true), '--destination-port': one(true, '--dport'),
}

export const MATCH_MODULES: ReadonlyMap<string, ModuleSpec> = new Map<string, ModuleSpec>([
  ['comment', {options: {'--comment': one(false)}, unmodelled: [], required: ['--comment']}],
  ['tcp', {
    options: {...PORTS, '--syn': flag(true), '--tcp-flags': {values: 2, negatable: true}, '--tcp-option': one(true)},
    unmodelled: ['--tcp-option'], protocol: 6,
  }],
  ['udp', {options: PORTS, unmodelled: [], protocol: 17}],
  ['sctp', {options: {...PORTS, '--chunk-types': {values: 2, negatable: true}}, unmodelled: ['--chunk-types'], protocol: 132}],
  ['icmp', {options: {'--icmp-type': one(true)}, unmodelled: ['--icmp-type'], protocol: 1}],
  ['multiport', {
    options: {
      '--dports': one(true), '--destination-ports': one(true, '--dports'), '--sports': one(true), '--source-ports': one(true, '--sports'),
      '--ports': one(true),
    },
    unmodelled: [],
  }],
  ['addrtype', {
    options: {'--src-type': one(true), '--dst-type': one(true), '--limit-iface-in': flag(false), '--limit-iface-out': flag(false)},
    unmodelled: [],
  }],
  ['mark', {options: {'--mark': one(true)}, unmodelled: [], required: ['--mark']}],
  ['connmark', {options: {'--mark': one(true)}, unmodelled: [], required: ['--mark']}],
  ['conntrack', {
    options: {
      '--ctstate': one(true), '--ctproto': one(true), '--ctorigsrc': one(true), '--ctorigdst': one(true), '--ctreplsrc': one(true),
      '--ctrepldst': one(true), '--ctorigsrcport': one(true), '--ctorigdstport': one(true), '--ctreplsrcport': one(true),
      '--ctrepldstport': one(true), '--ctstatus': one(true), '--ctexpire': one(true), '--ctdir': one(false),
    },
    unmodelled: ['--ctproto', '--ctorigsrc', '--ctorigdst', '--ctreplsrc', '--ctrepldst', '--ctorigsrcport', '--ctorigdstport',
      '--ctreplsrcport', '--ctrepldstport', '--ctstatus', '--ctexpire', '--ctdir'],
  }],
  ['state', {options: {'--state': one(true)}, unmodelled: [], required: ['--state']}],
  ['statistic', {options: {'--mode': one(false), '--probability': one(true), '--every': one(true), '--packet': one(false)}, unmodelled: []}],
  ['iprange', {options: {'--src-range': one(true), '--dst-range': one(true)}, unmodelled: []}],
  ['set', {
    options: {
      '--match-set': {values: 2, negatable: true}, '--set': {values: 2, negatable: true, canonical: '--match-set'},
      '--return-nomatch': flag(false), '--update-counters': flag(true), '--update-subcounters': flag(true),
      '--packets-eq': one(true), '--packets-lt': one(true), '--packets-gt': one(true),
      '--bytes-eq': one(true), '--bytes-lt': one(true), '--bytes-gt': one(true),
    },
    unmodelled: ['--packets-eq', '--packets-lt', '--packets-gt', '--bytes-eq', '--bytes-lt', '--bytes-gt'],
    required: ['--match-set'],
  }],
  ['physdev', {
    options: {
      '--physdev-in': one(true), '--physdev-out': one(true), '--physdev-is-in': flag(true), '--physdev-is-out': flag(true),
      '--physdev-is-bridged': flag(true),
    },
    unmodelled: [],
  }],
])

/** Matches of ip6tables only: iptables cannot load them, so a rule naming one is malformed. */
export const IPV6_ONLY_MODULES: ReadonlySet<string> = new Set(['rt', 'frag', 'hbh', 'dst', 'ipv6header', 'mh', 'srh', 'eui64', 'icmp6', 'icmpv6'])

/** The options of the targets whose options xcc knows (modelled or without effect on the decision). */
export const TARGET_SPECS: ReadonlyMap<string, Readonly<Record<string, OptionSpec>>> = new Map<string, Readonly<Record<string, OptionSpec>>>([
  ['ACCEPT', {}],
  ['DROP', {}],
  ['RETURN', {}],
  ['REJECT', {'--reject-with': one(false)}],
  ['MASQUERADE', {'--to-ports': one(false), '--random': flag(false), '--random-fully': flag(false)}],
  ['SNAT', {'--to-source': one(false), '--random': flag(false), '--random-fully': flag(false), '--persistent': flag(false)}],
  ['DNAT', {'--to-destination': one(false), '--random': flag(false), '--persistent': flag(false)}],
  ['MARK', {'--set-mark': one(false), '--set-xmark': one(false), '--or-mark': one(false), '--and-mark': one(false), '--xor-mark': one(false)}],
  ['CONNMARK', {
    '--set-mark': one(false), '--set-xmark': one(false), '--or-mark': one(false), '--and-mark': one(false), '--xor-mark': one(false),
    '--save-mark': flag(false), '--restore-mark': flag(false), '--mask': one(false), '--nfmask': one(false), '--ctmask': one(false),
    '--left-shift-mark': one(false), '--right-shift-mark': one(false),
  }],
  ['LOG', {
    '--log-level': one(false), '--log-prefix': one(false), '--log-tcp-sequence': flag(false), '--log-tcp-options': flag(false),
    '--log-ip-options': flag(false), '--log-uid': flag(false), '--log-macdecode': flag(false),
  }],
  ['NFLOG', {'--nflog-group': one(false), '--nflog-prefix': one(false), '--nflog-range': one(false), '--nflog-size': one(false),
    '--nflog-threshold': one(false)}],
  ['TCPMSS', {'--set-mss': one(false), '--clamp-mss-to-pmtu': flag(false)}],
  ['CHECKSUM', {'--checksum-fill': flag(false)}],
])

/**
 * iptables' own long options (iptables.c original_opts), by what the compiler calls them; the
 * ones that make no sense in a rule line of iptables-restore map to undefined.
 */
export const BASE_OPTIONS: ReadonlyMap<string, string | undefined> = new Map<string, string | undefined>([
  ['--source', '-s'], ['--src', '-s'], ['--destination', '-d'], ['--dst', '-d'], ['--protocol', '-p'], ['--in-interface', '-i'],
  ['--out-interface', '-o'], ['--jump', '-j'], ['--goto', '-g'], ['--match', '-m'], ['--fragments', '-f'], ['--set-counters', '-c'],
  ['--append', undefined], ['--delete', undefined], ['--check', undefined], ['--insert', undefined], ['--replace', undefined],
  ['--list', undefined], ['--list-rules', undefined], ['--flush', undefined], ['--zero', undefined], ['--new-chain', undefined],
  ['--delete-chain', undefined], ['--rename-chain', undefined], ['--policy', undefined], ['--table', undefined], ['--numeric', undefined],
  ['--verbose', undefined], ['--wait', undefined], ['--wait-interval', undefined], ['--exact', undefined], ['--version', undefined],
  ['--help', undefined], ['--line-numbers', undefined], ['--modprobe', undefined], ['--ipv4', undefined], ['--ipv6', undefined],
])
