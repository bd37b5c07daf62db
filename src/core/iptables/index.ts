/** The iptables evaluator: parse an iptables-save dump once, then evaluate packets against it. */
export type * from './types.js'
export {parseIptablesSave} from './parse.js'
export {evaluateHook, MAX_OUTCOMES} from './evaluate.js'
export {runPipeline} from './pipeline.js'
export {parseIpsetSave} from './ipset-parse.js'
export type {IpsetSyntaxError} from './ipset-parse.js'
export {setsNamedBy} from './ipset-match.js'
