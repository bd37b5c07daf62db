/**
 * The emulated GKE v1 API of a lab: clusters and node pools, read-only (the clusters are the
 * topology's), under both bindings real clients use: `projects/P/locations/L/clusters[/C]`
 * (`L` a zone, a region or `-`) and the deprecated `projects/P/zones/Z/clusters[/C]`. Writes are
 * refused: with the viewer token as GKE refuses them (403 naming the permission), with the admin
 * token because the lab cannot create clusters (400).
 */
import {CloudError} from '../cloud/errors.js'
import type {CloudRequest, CloudResponse, Params, Route} from '../cloud/router.js'
import {Router, dispatch} from '../cloud/router.js'
import type {CloudStore} from '../cloud/store.js'
import {type ClusterEndpoint, type ClusterView, clusterView, clustersAt} from './clusters.js'

export interface ContainerContext {
  readonly store: CloudStore
  readonly endpoints: ReadonlyMap<string, ClusterEndpoint>
  readonly createTime: string
}

export const CONTAINER_PREFIX = '/v1/'

function notFound(what: string): CloudError {
  return new CloudError(404, `Not found: ${what}.`, 'notFound')
}

function viewOf(ctx: ContainerContext): ClusterView {
  return {project: ctx.store.project, topology: ctx.store.topology, endpoints: ctx.endpoints, createTime: ctx.createTime}
}

const where = (p: Params): string => p.location ?? p.zone ?? '-'
const clusterPath = (p: Params): string => `projects/${p.project}/locations/${where(p)}/clusters${p.cluster ? `/${p.cluster}` : ''}`

function getCluster(ctx: ContainerContext, p: Params): Record<string, unknown> {
  const c = clustersAt(ctx.store.topology, where(p)).find((x) => x.name === p.cluster && (where(p) === '-' || x.location === where(p)))
  if (!c) throw notFound(clusterPath(p))
  return clusterView(viewOf(ctx), c)
}

function readRoutes(scope: 'locations' | 'zones'): Array<Route<ContainerContext>> {
  const param = scope === 'locations' ? ':location' : ':zone'
  const base = `projects/:project/${scope}/${param}/clusters`
  const r = (method: string, pattern: string, permission: string, write: boolean, handle: Route<ContainerContext>['handle']): Route<ContainerContext> =>
    ({method, pattern, permission, write, resource: clusterPath, handle})
  const refuse = (): never => {
    throw new CloudError(400, 'The lab\'s clusters come from its topology: GKE clusters and node pools cannot be created, changed or deleted through the API.', 'badRequest')
  }
  return [
    r('GET', base, 'container.clusters.list', false, (ctx, p) => ({clusters: clustersAt(ctx.store.topology, where(p)).map((c) => clusterView(viewOf(ctx), c)), missingZones: []})),
    r('GET', `${base}/:cluster`, 'container.clusters.get', false, getCluster),
    r('GET', `${base}/:cluster/nodePools`, 'container.clusters.get', false, (ctx, p) => ({nodePools: getCluster(ctx, p).nodePools})),
    r('GET', `${base}/:cluster/nodePools/:pool`, 'container.clusters.get', false, (ctx, p) => {
      const pool = (getCluster(ctx, p).nodePools as Array<Record<string, unknown>>).find((x) => x.name === p.pool)
      if (!pool) throw notFound(`${clusterPath(p)}/nodePools/${p.pool}`)
      return pool
    }),
    r('POST', base, 'container.clusters.create', true, refuse),
    r('PUT', `${base}/:cluster`, 'container.clusters.update', true, refuse),
    r('DELETE', `${base}/:cluster`, 'container.clusters.delete', true, refuse),
    r('POST', `${base}/:cluster/nodePools`, 'container.clusters.update', true, refuse),
  ]
}

const router = new Router<ContainerContext>().add(...readRoutes('locations'), ...readRoutes('zones'))

/** Serves one GKE request (`request.path` starts with /v1/). */
/** the permissions GKE's routes check, true for those a write needs */
export const containerPermissions = (): ReadonlyMap<string, boolean> => router.permissions()

export async function serveContainer(ctx: ContainerContext, request: CloudRequest): Promise<CloudResponse> {
  const segments = request.path.slice(CONTAINER_PREFIX.length).replace(/\/+$/, '').split('/')
  if (segments[0] === 'projects' && segments[1] !== undefined && decodeURIComponent(segments[1]) !== ctx.store.project) throw notFound(`projects/${decodeURIComponent(segments[1])}`)
  return dispatch(router, ctx, request, segments)
}
