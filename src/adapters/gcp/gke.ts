/** The GKE port (core/ports/gcp.ts) on @google-cloud/container 6, over REST (`fallback: true`: gRPC cannot reach an emulator). */
import type {GkeApi, GkeCluster} from '../../core/ports/gcp.js'
import {type ClientOptions, GCP_REQUESTS_AT_ONCE, permits, plain} from './compute.js'
import {type CallContext, withRetries} from './retry.js'

export async function openGke(options: ClientOptions): Promise<GkeApi> {
  const module = (await import('@google-cloud/container/build/src/v1/cluster_manager_client.js')) as {default?: Record<string, unknown>} & Record<string, unknown>
  const Client = (module.ClusterManagerClient ?? module.default?.ClusterManagerClient) as new (o: object) => {listClusters(r: object): Promise<[{clusters?: unknown[]}]>}
  const client = new Client({
    authClient: options.auth, fallback: true,
    ...(options.endpoint ? {apiEndpoint: options.endpoint.host, port: options.endpoint.port, protocol: options.endpoint.protocol} : {}),
  })
  const ctx: CallContext = {
    api: 'GKE', project: options.project, deadline: options.deadline,
    endpoint: options.endpoint ? `${options.endpoint.protocol}://${options.endpoint.host}:${options.endpoint.port}` : 'container.googleapis.com',
    ...(options.stats ? {stats: options.stats} : {}),
  }
  return {
    project: options.project,
    async listClusters(): Promise<GkeCluster[]> {
      const acquire = options.acquire ?? permits(GCP_REQUESTS_AT_ONCE)
      const [response] = await withRetries(ctx, 'listing GKE clusters', async () => {
        const release = await acquire()
        try {
          return await client.listClusters({parent: `projects/${options.project}/locations/-`})
        } finally {
          release()
        }
      })
      return (response.clusters ?? []).map((c) => plain<GkeCluster>(c))
    },
  }
}
