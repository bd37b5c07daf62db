/**
 * Regions, zones and the project, which gcloud reads before some writes (`instances create` GETs
 * the zone and the project). The lab's world has the regions its topology uses plus a few fixed
 * ones, each with zones `-a`, `-b` and `-c`, and every zone its topology names.
 */
import {isZone, regionOfZone} from '../../core/topology/issues.js'
import type {Topology} from '../../core/topology/schema.js'
import {invalidField} from '../cloud/errors.js'
import {resourceId} from '../cloud/identity.js'
import {COMPUTE_BASE, GLOBAL, region, scopeLink, zone} from '../cloud/refs.js'
import {type ComputeContext, type View, identity, refOf, route} from './context.js'
import {listRoutes} from './collections.js'

const FIXED_REGIONS = ['us-central1', 'us-east1', 'us-west1', 'europe-west1', 'asia-east1']

export function knownZones(t: Topology): string[] {
  const zones = new Set<string>()
  for (const r of knownRegions(t)) for (const letter of ['a', 'b', 'c']) zones.add(`${r}-${letter}`)
  for (const m of t.instances) zones.add(m.zone)
  for (const g of t.instanceGroups) zones.add(g.zone)
  for (const c of t.clusters) {
    if (isZone(c.location)) zones.add(c.location)
    for (const n of c.nodes) if (n.zone) zones.add(n.zone)
  }
  return [...zones].sort()
}

export function knownRegions(t: Topology): string[] {
  const regions = new Set(FIXED_REGIONS)
  for (const n of t.networks) for (const s of n.subnets) regions.add(s.region)
  for (const m of t.instances) regions.add(regionOfZone(m.zone))
  for (const f of t.forwardingRules) regions.add(f.region)
  for (const b of t.backendServices) regions.add(b.region)
  for (const c of t.clusters) regions.add(isZone(c.location) ? regionOfZone(c.location) : c.location)
  return [...regions].sort()
}

export function checkZone(t: Topology, name: string): string {
  if (!knownZones(t).includes(name)) throw invalidField('zone', name, `Unknown zone (the lab has ${knownZones(t).join(', ')}).`)
  return name
}

export function checkRegion(t: Topology, name: string): string {
  if (!knownRegions(t).includes(name)) throw invalidField('region', name, `Unknown region (the lab has ${knownRegions(t).join(', ')}).`)
  return name
}

function zoneView(view: View, name: string): Record<string, unknown> {
  return {
    ...identity(view, 'compute#zone', refOf(view, GLOBAL, 'zones', name)), description: name, status: 'UP',
    region: scopeLink(view.project, region(regionOfZone(name))), selfLink: scopeLink(view.project, zone(name)), availableCpuPlatforms: ['Intel Broadwell'], supportsPzs: false,
  }
}

function regionView(view: View, name: string): Record<string, unknown> {
  const zones = knownZones(view.topology).filter((z) => regionOfZone(z) === name).map((z) => scopeLink(view.project, zone(z)))
  return {...identity(view, 'compute#region', refOf(view, GLOBAL, 'regions', name)), description: name, status: 'UP', zones, selfLink: scopeLink(view.project, region(name)), supportsPzs: false}
}

function projectView(ctx: ComputeContext): Record<string, unknown> {
  const project = ctx.store.project
  const link = `${COMPUTE_BASE}projects/${project}`
  return {
    kind: 'compute#project', id: resourceId(link), creationTimestamp: ctx.times.of(link), name: project,
    commonInstanceMetadata: {kind: 'compute#metadata', fingerprint: 'AAAAAAAAAAA=', items: []},
    defaultServiceAccount: `${resourceId(link).slice(0, 12)}-compute@developer.gserviceaccount.com`, defaultNetworkTier: 'PREMIUM', xpnProjectStatus: 'UNSPECIFIED_XPN_PROJECT_STATUS', selfLink: link,
  }
}

export const zoneRoutes = [
  route('GET', 'projects/:project', 'compute.projects.get', false, (p) => `projects/${p.project}`, (ctx) => projectView(ctx)),
  ...listRoutes({
    collection: 'zones', kind: 'compute#zone', scope: 'global', iam: 'compute.zones',
    views: (view) => knownZones(view.topology).map((name) => ({scope: GLOBAL, body: zoneView(view, name)})),
  }, {noScopeSegment: true}),
  ...listRoutes({
    collection: 'regions', kind: 'compute#region', scope: 'global', iam: 'compute.regions',
    views: (view) => knownRegions(view.topology).map((name) => ({scope: GLOBAL, body: regionView(view, name)})),
  }, {noScopeSegment: true}),
]

