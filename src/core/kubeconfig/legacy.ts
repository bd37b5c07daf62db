/**
 * Legacy authentication in a kubeconfig, pointed out with the command that replaces it: client
 * certificates on a GKE cluster (GKE stopped issuing them by default in 1.12; seed 000 builds
 * its gateway kubeconfig from them), the `auth-provider: gcp` user that client-go removed, and
 * basic auth (removed from GKE in 1.19). Pure: the caller reads the files.
 */
import {load} from 'js-yaml'

export interface LegacyAuth {
  readonly file: string
  readonly context: string
  readonly user: string
  readonly kind: 'client-certificate' | 'auth-provider-gcp' | 'basic-auth'
  readonly message: string
  readonly replacement: string
}

type Entry = {name?: unknown; [k: string]: unknown}

const list = (v: unknown): Entry[] => (Array.isArray(v) ? (v.filter((x) => typeof x === 'object' && x !== null) as Entry[]) : [])
const field = (v: unknown, key: string): Record<string, unknown> | undefined => {
  const inner = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined
  return typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : undefined
}

/** `xcc kubeconfig generate …` for a context: gcloud's name says the project, location and cluster */
function replacementFor(context: string, fallback: {project?: string; location?: string; cluster?: string}, auth: string): string {
  const m = /^gke_([^_]+)_([^_]+)_(.+)$/.exec(context)
  const [project, location, cluster] = m ? [m[1], m[2], m[3]] : [fallback.project, fallback.location, fallback.cluster]
  const parts = ['xcc kubeconfig generate', `--cluster ${cluster ?? 'CLUSTER'}`, `--location ${location ?? 'LOCATION'}`, ...(project ? [`--project ${project}`] : []), `--auth ${auth}`, `--context-name ${context}`, '--merge', '--force']
  return parts.join(' ')
}

/**
 * The legacy users of one kubeconfig file that contexts use. `gkeServers`: the servers of the
 * project's GKE clusters (a client certificate is legacy on those, and on any `gke_…` context).
 */
export function findLegacyAuth(file: string, text: string, gkeServers: readonly string[], fallback: {project?: string; location?: string; cluster?: string} = {}): LegacyAuth[] {
  let document: unknown
  try {
    document = load(text)
  } catch {
    return []
  }
  if (typeof document !== 'object' || document === null) return []
  const doc = document as Record<string, unknown>
  const users = new Map(list(doc.users).map((u) => [String(u.name), field(u, 'user') ?? {}]))
  const clusters = new Map(list(doc.clusters).map((c) => [String(c.name), field(c, 'cluster') ?? {}]))
  const out: LegacyAuth[] = []
  for (const c of list(doc.contexts)) {
    const context = String(c.name)
    const spec = field(c, 'context') ?? {}
    const userName = String(spec.user ?? '')
    const user = users.get(userName)
    if (!user) continue
    const server = String(clusters.get(String(spec.cluster ?? ''))?.server ?? '')
    const gke = context.startsWith('gke_') || gkeServers.includes(server.replace(/\/$/, ''))
    const provider = field(user, 'auth-provider')
    if (provider && provider.name === 'gcp') {
      out.push({file, context, user: userName, kind: 'auth-provider-gcp', message: `context "${context}" uses the gcp auth-provider, which kubectl and client-go no longer have`, replacement: replacementFor(context, fallback, 'exec')})
    } else if (typeof user.username === 'string' || typeof user.password === 'string') {
      out.push({file, context, user: userName, kind: 'basic-auth', message: `context "${context}" uses basic auth (a username and password), which GKE removed in 1.19`, replacement: replacementFor(context, fallback, gke ? 'exec' : 'service-account')})
    } else if (gke && (user['client-certificate-data'] !== undefined || user['client-certificate'] !== undefined)) {
      out.push({file, context, user: userName, kind: 'client-certificate', message: `context "${context}" authenticates to a GKE cluster with a client certificate, which GKE no longer issues (off by default since 1.12) and cannot revoke`, replacement: replacementFor(context, fallback, 'service-account')})
    }
  }
  return out
}
