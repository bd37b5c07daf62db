/** Flags every `xcc kubeconfig` command shares (which cluster, how long the API calls may take), and `--merge [FILE]`. */
import {Flags} from '@oclif/core'

export const clusterFlags = {
  cluster: Flags.string({description: 'GKE cluster name.', required: true, helpValue: 'NAME'}),
  location: Flags.string({description: 'Its zone or region (needed when the name is in several).', helpValue: 'LOCATION'}),
  project: Flags.string({description: 'Google Cloud project (default: as gcloud finds it).', helpValue: 'PROJECT'}),
  endpoint: Flags.string({description: 'The control-plane endpoint to use: public, internal (the private IP) or dns.', options: ['public', 'internal', 'dns'], default: 'public'}),
  timeout: Flags.string({description: 'How long the Google API calls may take in all, retries included.', default: '1m', helpValue: 'DURATION'}),
}

/** `--merge` takes an optional FILE: alone (last, or before another flag) it means the kubeconfig file kubectl writes */
export function optionalMergeValue(argv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string
    if (word === '--') return [...out, ...argv.slice(i)]
    const next = argv[i + 1]
    out.push(word === '--merge' && (next === undefined || next.startsWith('-')) ? '--merge=' : word)
  }
  return out
}
