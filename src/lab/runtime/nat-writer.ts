/** The host side of the lab's kube-proxy (addons/kube-proxy.ts): a node's nat table read and restored inside its namespace. */
import type {NatWriter} from '../addons/kube-proxy.js'
import {run} from './exec.js'

export class NetnsNatWriter implements NatWriter {
  async sync(ns: string, build: (dump: string) => string | undefined): Promise<boolean> {
    const dump = await run('ip', ['netns', 'exec', ns, 'iptables-save', '-t', 'nat'], {timeoutMs: 15_000, what: `reading the nat table of ${ns}`})
    const restore = build(dump)
    if (restore === undefined) return false
    await run('ip', ['netns', 'exec', ns, 'iptables-restore', '-w', '5', '--noflush'], {input: restore, timeoutMs: 15_000, what: `writing the Service rules in ${ns}`})
    return true
  }
}
