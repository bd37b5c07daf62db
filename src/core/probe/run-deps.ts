/**
 * What a live doctor run is given (the ports, the prediction, the live checks, progress) and
 * the pods it creates, removed at the end (design.md habit 6): shared by the path probe (run.ts)
 * and a name's resolution (dns-run.ts).
 */
import {deletePodAndWait} from '../kube/pods.js'
import type {Clock} from '../ports/clock.js'
import type {InstanceShell} from '../ports/host.js'
import type {KubeCluster, KubeContexts} from '../ports/kube.js'
import type {LiveCheck} from './live-checks.js'
import type {ProbeScripts} from './manifests.js'
import type {TopologyPrediction} from './topology-prediction.js'

export type LiveEvent = {readonly id: string; readonly title: string; readonly state: 'running' | 'done' | 'failed' | 'skipped'; readonly detail?: string}

export interface LiveDeps {
  readonly kube: KubeContexts
  readonly instances?: InstanceShell
  readonly clock: Clock
  readonly scripts: ProbeScripts
  readonly signal: AbortSignal
  readonly prediction?: TopologyPrediction
  /** the live checks of the registry (src/checks/index.ts) */
  readonly checks: readonly LiveCheck[]
  onEvent(event: LiveEvent): void
}

export interface Created {
  readonly cluster: KubeCluster
  readonly namespace: string
  readonly name: string
}

/** Removes (or with --keep, keeps) every pod of the run, noting each in `cleanup`; never aborted by Ctrl-C: this is the cleanup Ctrl-C asks for. */
export async function removeCreated(created: readonly Created[], keep: boolean, clock: Clock, cleanup: {deleted: string[]; kept: string[]; failed: string[]}): Promise<void> {
  await Promise.all(created.map(async (c) => {
    const label = `${c.cluster.context}/${c.namespace}/${c.name}`
    if (keep) return void cleanup.kept.push(label)
    try {
      if (await deletePodAndWait(c.cluster, c.namespace, c.name, clock)) cleanup.deleted.push(label)
      else cleanup.failed.push(`${label} (still terminating)`)
    } catch {
      cleanup.failed.push(label)
    }
  }))
}
