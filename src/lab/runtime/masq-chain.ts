/**
 * How the lab's ip-masq-agent (src/lab/addons/ip-masq-agent.ts) writes a node's chain inside the
 * node's network namespace, as the real agent does on the node (SNAT-05): the chain through
 * `iptables-restore --noflush` (declaring it flushes it, so the rewrite is atomic and nothing
 * else in the nat table changes), then `iptables -C` for the POSTROUTING jump and `-A` when it
 * is missing (appended, never reordered). One shell per node keeps the rewrite to one exec.
 */
import type {AgentNode, ChainWriter} from '../addons/ip-masq-agent.js'
import {run} from './exec.js'

const SCRIPT = 'iptables-restore -w 5 --noflush && { iptables -w 5 -t nat -C POSTROUTING "$@" 2>/dev/null || iptables -w 5 -t nat -A POSTROUTING "$@"; }'

export class NetnsChainWriter implements ChainWriter {
  async write(node: AgentNode, restore: string, jump: readonly string[]): Promise<void> {
    await run('ip', ['netns', 'exec', node.ns, 'sh', '-c', SCRIPT, 'ip-masq-agent', ...jump], {input: restore, timeoutMs: 15_000, what: `writing the ip-masq-agent chain of node ${node.name}`})
  }
}
