/**
 * The emulated Compute Engine v1 API of a lab (gcp-api-emulation.md §3): every collection's
 * routes in one router, served under `/compute/v1/`. Requests for a project other than the lab's
 * are a 404 naming the project, as GCE answers for a project that does not exist (gcloud prints
 * `The resource 'projects/other' was not found`).
 */
import {notFound} from '../cloud/errors.js'
import {type CloudRequest, type CloudResponse, Router, dispatch} from '../cloud/router.js'
import {backendServiceRoutes} from './backend-services.js'
import type {ComputeContext} from './context.js'
import {firewallRoutes} from './firewalls.js'
import {forwardingRuleRoutes} from './forwarding-rules.js'
import {healthCheckRoutes} from './health-checks.js'
import {instanceGroupRoutes} from './instance-groups.js'
import {instanceWriteRoutes} from './instance-writes.js'
import {instanceReadRoutes} from './instances.js'
import {networkRoutes} from './networks.js'
import {operationRoutes} from './operations.js'
import {routeRoutes} from './routes.js'
import {subnetworkRoutes} from './subnetworks.js'
import {zoneRoutes} from './zones.js'

export const COMPUTE_PREFIX = '/compute/v1/'

const router = new Router<ComputeContext>().add(
  ...zoneRoutes, ...networkRoutes, ...subnetworkRoutes, ...firewallRoutes, ...routeRoutes, ...instanceReadRoutes, ...instanceWriteRoutes,
  ...instanceGroupRoutes, ...healthCheckRoutes, ...backendServiceRoutes, ...forwardingRuleRoutes, ...operationRoutes,
)

/** the permissions Compute's routes check, true for those a write needs */
export const computePermissions = (): ReadonlyMap<string, boolean> => router.permissions()

/** Serves one Compute request (`request.path` starts with /compute/v1/). */
export async function serveCompute(ctx: ComputeContext, request: CloudRequest): Promise<CloudResponse> {
  const segments = request.path.slice(COMPUTE_PREFIX.length).replace(/\/+$/, '').split('/')
  if (segments[0] === 'projects' && segments[1] !== undefined && decodeURIComponent(segments[1]) !== ctx.store.project) {
    throw notFound(`projects/${decodeURIComponent(segments[1])}`)
  }
  return dispatch(router, ctx, request, segments)
}
