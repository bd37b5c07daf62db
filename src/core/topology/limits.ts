/**
 * How much a topology file may ask of the loader (issue 13, bounded inputs). Each limit is far
 * above what a real estate needs — `npm run bench`'s largest topology (200 networks, 20,000
 * routes and firewall rules, 1,000 nodes, a 100,000-line kube-proxy dump) is a 24 MB file of
 * 470,000 values nested 8 deep — and each refusal is a load error naming the limit.
 */
export const TOPOLOGY_LIMITS = {
  /** the file's size, in bytes (and the text's length, in characters) */
  maxBytes: 64 * 2 ** 20,
  /** mappings and lists inside each other, the document itself being level 1 */
  maxDepth: 64,
  /** values (mappings, lists, scalars) once YAML aliases are expanded, each alias counting as often as it is used */
  maxValues: 2_000_000,
} as const
