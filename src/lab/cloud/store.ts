/**
 * The one truth of a lab's cloud: its topology. Reads of the Compute and GKE APIs are views of
 * the current model; a write builds a new topology document, which must load exactly as a file
 * would (the loader's every check: an invalid result is the API's 400, naming the problem), is
 * persisted atomically as the lab's `topology.yaml` (what `xcc doctor --topology` and a restarted
 * lab read), becomes the current model at once, and is then handed to the data plane. Data-plane
 * applications run one at a time in commit order, each from the model the data plane holds: the
 * last one it applied. After a failed application the next one starts from there, so it carries
 * the failed change too (applying it again completes it).
 */
import {writeAtomic} from '../runtime/state.js'

import yaml from 'js-yaml'

import {TopologyError} from '../../core/errors.js'
import type {Model} from '../../core/topology/model-types.js'
import {parseTopology} from '../../core/topology/parse.js'
import type {Topology} from '../../core/topology/schema.js'
import type {DataPlaneHook} from './dataplane-hook.js'
import {CloudError} from './errors.js'

/** the project a topology's cloud serves (contracts.md §5) */
export const DEFAULT_PROJECT = 'xcc-lab'

export interface CloudStoreOptions {
  /** where the topology is persisted (the lab's topology.yaml) */
  readonly path: string
  readonly model: Model
  readonly hook: DataPlaneHook
  readonly log: (message: string) => void
}

/** The text a topology is persisted as: YAML of the document, without unset fields. */
export function renderTopology(t: Topology, note: string): string {
  const plain = JSON.parse(JSON.stringify(t)) as unknown
  return `# ${note}\n${yaml.dump(plain, {lineWidth: -1, noRefs: true})}`
}


export class CloudStore {
  private current: Model
  /** what the data plane holds: the model of the last application that worked */
  private applied: Model
  private applying: Promise<void> = Promise.resolve()

  constructor(private readonly options: CloudStoreOptions) {
    this.current = options.model
    this.applied = options.model
  }

  get model(): Model {
    return this.current
  }

  get topology(): Topology {
    return this.current.topology
  }

  get project(): string {
    return this.current.topology.metadata.project ?? DEFAULT_PROJECT
  }

  /** a line for the lab's log (daemon.log) */
  note(message: string): void {
    this.options.log(message)
  }

  /** a copy of the topology to change and commit */
  draft(): Topology {
    return structuredClone(this.current.topology)
  }

  /**
   * Makes `next` the lab's topology: loads it (a TopologyError becomes a 400 naming every
   * problem), persists it, and returns the data plane's application of the change, which settles
   * after those of earlier commits.
   */
  commit(next: Topology, what: string): Promise<void> {
    const text = renderTopology(next, `the lab's topology, last changed through its cloud API: ${what}`)
    let model: Model
    try {
      model = parseTopology(text, 'topology.yaml')
    } catch (error) {
      if (error instanceof TopologyError) {
        const problems = error.issues.slice(0, 5).map((i) => `${i.path ? `${i.path}: ` : ''}${i.message}`).join('; ')
        throw new CloudError(400, `Invalid value for field 'resource': the lab's topology would not load: ${problems}`, 'invalid')
      }
      throw error
    }
    writeAtomic(this.options.path, text)
    this.current = model
    this.options.log(`cloud: ${what}`)
    const done = this.applying.then(async () => {
      await this.options.hook.apply(this.applied, model)
      this.applied = model
    })
    // the next application waits for this one, whether it worked or not
    this.applying = done.catch(() => {})
    return done
  }
}
