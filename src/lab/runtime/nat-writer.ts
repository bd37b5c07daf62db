/** The host side of the lab's kube-proxy (addons/kube-proxy.ts): a node's nat or filter table read and restored inside its namespace. */
import type {NatWriter} from '../addons/kube-proxy.js'
import {exec, run} from './exec.js'

export class NetnsNatWriter implements NatWriter {
  async sync(ns: string, table: 'nat' | 'filter', build: (dump: string) => string | undefined): Promise<boolean> {
    const dump = await run('ip', ['netns', 'exec', ns, 'iptables-save', '-t', table], {timeoutMs: 15_000, what: `reading the ${table} table of ${ns}`})
    const restore = build(dump)
    if (restore === undefined) return false
    await run('ip', ['netns', 'exec', ns, 'iptables-restore', '-w', '5', '--noflush'], {input: restore, timeoutMs: 15_000, what: `writing the Service rules in ${ns}`})
    return true
  }

  async clearUdp(ns: string, ip: string): Promise<void> {
    // exit 1 when there was nothing to delete
    await exec('ip', ['netns', 'exec', ns, 'conntrack', '-D', '-p', 'udp', '--orig-dst', ip], {timeoutMs: 10_000})
  }
}
