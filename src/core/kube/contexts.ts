/**
 * Which kube context is a GKE cluster's. `gcloud container clusters get-credentials` names the
 * context `gke_<project>_<location>_<cluster>`; people also rename contexts to the cluster's
 * name. Commands xcc prints must name a context the user really has.
 */

export interface ClusterIdentity {
  readonly name: string
  readonly location: string
  readonly project?: string
}

/** gcloud's context name for a cluster */
export function gkeContextName(project: string, location: string, cluster: string): string {
  return `gke_${project}_${location}_${cluster}`
}

/** `gke_<project>_<location>_<cluster>` → its parts (the project may not contain `_`; the cluster may) */
export function parseGkeContext(context: string): ClusterIdentity | undefined {
  const m = /^gke_([^_]+)_([^_]+)_(.+)$/.exec(context)
  return m ? {project: m[1] as string, location: m[2] as string, name: m[3] as string} : undefined
}

/**
 * The context of `cluster` among `contexts`: gcloud's name for it (exactly, or the only one with
 * its location and name when the project is not known), else a context named after the cluster.
 * Undefined when none fits or several do.
 */
export function findClusterContext(cluster: ClusterIdentity, contexts: readonly string[]): string | undefined {
  if (cluster.project) {
    const exact = gkeContextName(cluster.project, cluster.location, cluster.name)
    if (contexts.includes(exact)) return exact
  }
  const gke = contexts.filter((c) => {
    const parsed = parseGkeContext(c)
    return parsed?.name === cluster.name && parsed.location === cluster.location && (!cluster.project || parsed.project === cluster.project)
  })
  if (gke.length === 1) return gke[0]
  if (gke.length > 1) return undefined
  return contexts.includes(cluster.name) ? cluster.name : undefined
}
