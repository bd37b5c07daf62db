/**
 * The composition root's one list of real adapters: use cases take what they need from here, so
 * the real clock, kube client, templates and hosts are chosen in one place (and unit tests of
 * core use fakes of the same ports instead).
 */
import {systemClock} from '../adapters/clock/index.js'
import {knownProject, openGcp, openGcpIam, openGcpWrites} from '../adapters/gcp/index.js'
import {NO_INSTANCE_SHELL} from '../adapters/host/index.js'
import {readContextNames} from '../adapters/kube/config.js'
import {loadKubeContexts} from '../adapters/kube/index.js'
import {loadResponderTemplate} from '../adapters/templates/dns.js'
import {canonicalFlow, listScenarios, scenarioPath} from '../adapters/templates/scenarios.js'
import {loadMasqueradeScripts, loadProbeScripts} from '../adapters/templates/scripts.js'
import {loadTopologyFile, readTopologyFile} from '../adapters/topology-file/index.js'
import type {Clock} from '../core/ports/clock.js'
import type {InstanceShell} from '../core/ports/host.js'
import type {KubeContexts} from '../core/ports/kube.js'
import {findLabByServer, labInstanceShell} from '../lab/host/index.js'

export const clock: Clock = systemClock

/** the kubeconfig as kubectl reads it: --kubeconfig, else $KUBECONFIG, else ~/.kube/config */
export function openKube(kubeconfig?: string): Promise<KubeContexts> {
  return loadKubeContexts({...(kubeconfig ? {kubeconfig} : {}), env: process.env})
}

/** the kube context names the user has (for commands that name a cluster's context), none when unreadable */
export const kubeContextNames = (): string[] => readContextNames(process.env)

/** how VMs are reached for captures: inside the lab whose API server this is, else not (no SSH yet) */
export function instanceShellFor(server: string): InstanceShell {
  const lab = findLabByServer(server)
  return lab ? labInstanceShell(lab) : NO_INSTANCE_SHELL
}

export const templates = {probeScripts: loadProbeScripts, masqueradeScripts: loadMasqueradeScripts, dnsResponder: loadResponderTemplate, scenarioPath, listScenarios, canonicalFlow}
export const topologyFiles = {load: loadTopologyFile, read: readTopologyFile}
/** Google Cloud (the clients themselves load only when a command opens it) */
export const cloud = {open: openGcp, openWrites: openGcpWrites, openIam: openGcpIam, knownProject}
