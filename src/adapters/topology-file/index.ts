/** Reads a topology file from disk; all parsing and validation is pure (core/topology). */
import {readFile} from 'node:fs/promises'

import {XccError} from '../../core/errors.js'
import type {Model} from '../../core/topology/model-types.js'
import {parseTopology} from '../../core/topology/parse.js'

export async function loadTopologyFile(path: string): Promise<Model> {
  return (await readTopologyFile(path)).model
}

/** The file's text (the lab keeps a copy for its background process) and its model. */
export async function readTopologyFile(path: string): Promise<{text: string; model: Model}> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message
    throw new XccError(`cannot read topology file ${path}: ${why}`, {exitCode: 2, hint: 'pass the path of an xcc/v1 Topology file (YAML or JSON) with --topology'})
  }
  return {text, model: parseTopology(text, path)}
}
