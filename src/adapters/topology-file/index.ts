/** Reads a topology file from disk; all parsing and validation is pure (core/topology). */
import {XccError} from '../../core/errors.js'
import {TOPOLOGY_LIMITS} from '../../core/topology/limits.js'
import type {Model} from '../../core/topology/model-types.js'
import {parseTopology} from '../../core/topology/parse.js'
import {readRegularFile} from '../files/regular-file.js'

export async function loadTopologyFile(path: string): Promise<Model> {
  return (await readTopologyFile(path)).model
}

/**
 * The file's text (the lab keeps a copy for its background process) and its model. Anything but a
 * regular file of at most TOPOLOGY_LIMITS.maxBytes (a FIFO, /dev/zero, a directory) is refused
 * before a byte is read.
 */
export async function readTopologyFile(path: string): Promise<{text: string; model: Model}> {
  const read = readRegularFile(path, TOPOLOGY_LIMITS.maxBytes)
  if (!read.ok) {
    throw new XccError(`cannot read topology file ${path}: ${read.why}`, {
      exitCode: 2,
      hint: read.code === 'too-large'
        ? `xcc reads topology files up to ${TOPOLOGY_LIMITS.maxBytes / 2 ** 20} MiB (docs/topology.md)`
        : 'pass the path of an xcc/v1 Topology file (YAML or JSON) with --topology',
    })
  }
  return {text: read.text, model: parseTopology(read.text, path)}
}
