/**
 * The change between two `ip -batch` line lists of one namespace (NamespacePlan.ip), as the lines
 * that turn the first into the second without rebuilding: routes are keyed as the kernel keys
 * them (table, destination, metric) and changed with `route replace` (one atomic swap, no moment
 * without a route), addresses and policy rules are added or deleted one by one. Lines of links
 * (`link set … up`, bridge ports) are re-run when new; a device that goes away takes its own
 * addresses and routes with it, so their deletion is left to the kernel.
 */

export interface IpDelta {
  /** run first: links, addresses, then routes and rules (`replace` where the kernel allows) */
  readonly add: readonly string[]
  /** rules added here, deleted first if present (a retried change adds no duplicate rule) */
  readonly rulesAdded: readonly string[]
  /** run last: rules, routes, addresses and bridges that are gone */
  readonly remove: readonly string[]
}

type Parsed =
  | {readonly kind: 'route'; readonly key: string; readonly spec: string; readonly del: string; readonly devices: readonly string[]}
  | {readonly kind: 'addr'; readonly key: string; readonly spec: string; readonly devices: readonly string[]}
  | {readonly kind: 'rule'; readonly key: string; readonly spec: string}
  | {readonly kind: 'link'; readonly key: string; readonly line: string; readonly devices: readonly string[]}

const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'multicast', 'throw', 'unreachable', 'prohibit', 'blackhole', 'nat'])
const STAGE: Readonly<Record<string, number>> = {link: 0, addr: 1}

function destination(text: string): string {
  if (text === 'default') return '0.0.0.0/0'
  return text.includes('/') ? text : `${text}/32`
}

function valueAfter(tokens: readonly string[], word: string): string | undefined {
  const i = tokens.indexOf(word)
  return i >= 0 ? tokens[i + 1] : undefined
}

function devicesOf(tokens: readonly string[]): string[] {
  return tokens.flatMap((t, i) => (t === 'dev' && tokens[i + 1] ? [tokens[i + 1] as string] : []))
}

export function parseIpLine(line: string): Parsed {
  const tokens = line.trim().split(/\s+/)
  const [object, verb] = tokens
  const rest = tokens.slice(2)
  if (object === 'route' && verb === 'add') {
    const typed = ROUTE_TYPES.has(rest[0] ?? '')
    const dest = destination((typed ? rest[1] : rest[0]) ?? '')
    const table = valueAfter(rest, 'table') ?? (rest[0] === 'local' ? 'local' : 'main')
    const metric = valueAfter(rest, 'metric') ?? '0'
    return {kind: 'route', key: `route ${table} ${dest} ${metric}`, spec: rest.join(' '), del: `route del ${dest} table ${table} metric ${metric}`, devices: devicesOf(rest)}
  }
  if (object === 'addr' && verb === 'add') return {kind: 'addr', key: `addr ${rest.join(' ')}`, spec: rest.join(' '), devices: devicesOf(rest)}
  if (object === 'rule' && verb === 'add') return {kind: 'rule', key: `rule ${rest.join(' ')}`, spec: rest.join(' ')}
  // `link add NAME …` and `link set NAME …`
  return {kind: 'link', key: tokens.join(' '), line: tokens.join(' '), devices: rest[0] ? [rest[0]] : []}
}

/** Links before addresses before routes and rules (a route needs its device up), otherwise in plan order. */
export function orderIpLines(lines: readonly string[]): string[] {
  return lines.map((line, i) => ({line, i, stage: STAGE[line.split(' ')[0] ?? ''] ?? 2})).sort((a, b) => a.stage - b.stage || a.i - b.i).map((e) => e.line)
}

/**
 * `gone`: devices of this namespace that disappear in this change (their veth or bridge is
 * deleted), whose addresses and routes need no deletion. `recreated`: devices deleted and created
 * again (a NIC moved to another network): every line about them is run again.
 */
export function diffIpLines(before: readonly string[], after: readonly string[], gone: ReadonlySet<string> = new Set(), recreated: ReadonlySet<string> = new Set()): IpDelta {
  const old = new Map(before.map((l) => [parseIpLine(l).key, parseIpLine(l)]))
  const now = new Map(after.map((l) => [parseIpLine(l).key, parseIpLine(l)]))
  const add: string[] = []
  const rulesAdded: string[] = []
  const fresh = (p: Parsed): boolean => p.kind !== 'rule' && p.devices.some((d) => recreated.has(d))
  for (const [key, p] of now) {
    const was = old.get(key)
    const changed = !was || (p.kind === 'route' && was.kind === 'route' && was.spec !== p.spec)
    if (!changed && !fresh(p)) continue
    if (p.kind === 'route') add.push(`route replace ${p.spec}`)
    else if (p.kind === 'addr') add.push(`addr replace ${p.spec}`)
    else if (p.kind === 'rule') rulesAdded.push(`rule add ${p.spec}`)
    else add.push(p.line)
  }
  const rules: string[] = []
  const routes: string[] = []
  const addrs: string[] = []
  const links: string[] = []
  for (const [key, p] of old) {
    if (now.has(key)) continue
    if (p.kind === 'rule') rules.push(`rule del ${p.spec}`)
    // what was on a device that goes (or is deleted and made again) went with it
    else if (p.devices.some((d) => gone.has(d) || recreated.has(d))) continue
    else if (p.kind === 'route') routes.push(p.del)
    else if (p.kind === 'addr') addrs.push(`addr del ${p.spec}`)
    else if (/^link add \S+ type bridge/.test(p.line)) links.push(`link del ${p.devices[0]}`)
  }
  return {add: orderIpLines(add), rulesAdded, remove: [...rules, ...routes, ...addrs, ...links]}
}

/** The devices a namespace's lines create (`link add X …`), for the ones a change removes. */
export function createdDevices(lines: readonly string[]): string[] {
  return lines.flatMap((l) => /^link add (\S+) /.exec(l)?.slice(1, 2) ?? [])
}
