/**
 * Certificates of a lab: each cluster's API server has its own CA (as each GKE cluster does), a
 * serving certificate for its endpoints (127.0.0.1, the private endpoint's address, and the DNS
 * endpoint's name) and an admin client certificate (system:masters) for the kubeconfig. Kept in the lab directory (mode 0600), never printed; made there too (`workDir`,
 * the lab's state directory), so that no key of a killed `lab up` is left outside it.
 */
import {type KeyPair, createCa, issueClientCert, issueServerCert} from './certificates.js'

export interface ClusterPki {
  readonly ca: KeyPair
  readonly server: KeyPair
  readonly admin: KeyPair
}

export interface Pki {
  readonly clusters: Readonly<Record<string, ClusterPki>>
}

/** `ips` and `dnsNames`: more names each cluster's API server answers to */
export async function createLabPki(clusters: readonly string[], workDir: string, more: {ips?: readonly string[]; dnsNames?: (cluster: string) => readonly string[]} = {}): Promise<Pki> {
  const entries = await Promise.all(clusters.map(async (name): Promise<[string, ClusterPki]> => {
    const ca = await createCa(`xcc-lab-${name}-ca`, undefined, workDir)
    const ips = ['127.0.0.1', ...(more.ips ?? [])]
    const dnsNames = ['localhost', ...(more.dnsNames?.(name) ?? [])]
    const [server, admin] = await Promise.all([
      issueServerCert(ca, {commonName: 'kube-apiserver', ips, dnsNames, workDir}),
      issueClientCert(ca, {commonName: 'xcc-lab-admin', organizations: ['system:masters'], workDir}),
    ])
    return [name, {ca, server, admin}]
  }))
  return {clusters: Object.fromEntries(entries)}
}

export function clusterPki(pki: Pki, cluster: string): ClusterPki {
  const entry = pki.clusters[cluster]
  if (!entry) throw new Error(`no certificates for cluster ${cluster}`)
  return entry
}
