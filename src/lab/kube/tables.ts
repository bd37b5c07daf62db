/**
 * Server-side printing: `kubectl get` asks for a `meta.k8s.io/v1 Table` and prints its cells.
 * Columns with priority 1 appear only with `-o wide`. Kinds without their own printer get
 * NAME and AGE.
 */
import type {KubeObject} from './types.js'
import {PRINTERS, type Printer, humanDuration} from './printers.js'

export {humanDuration}

export interface TableColumn {
  name: string
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date'
  format: string
  description: string
  priority: number
}

export interface TableRow {
  cells: unknown[]
  object?: unknown
}

export interface Table {
  kind: 'Table'
  apiVersion: 'meta.k8s.io/v1'
  metadata: {resourceVersion?: string; continue?: string}
  columnDefinitions: TableColumn[]
  rows: TableRow[]
}

export type IncludeObject = 'None' | 'Metadata' | 'Object'

export function age(object: KubeObject, now = Date.now()): string {
  const created = object.metadata.creationTimestamp
  return created ? humanDuration(now - Date.parse(created)) : '<unknown>'
}

const NAME_COLUMN: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
}
const AGE_COLUMN: TableColumn = {name: 'Age', type: 'string', format: '', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0}

const DEFAULT_PRINTER: Printer = {columns: [], cells: () => []}

function rowObject(object: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined
  if (include === 'Object') return object
  return {kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata}
}

export function toTable(kind: string, objects: readonly KubeObject[], options: {include?: IncludeObject; resourceVersion?: string; continue?: string; now?: number} = {}): Table {
  const printer = PRINTERS[kind] ?? DEFAULT_PRINTER
  const now = options.now ?? Date.now()
  const custom: TableColumn[] = printer.columns.map((c) => ({type: 'string', format: '', description: c.description ?? c.name, priority: c.wide ? 1 : 0, name: c.name}))
  const narrowColumns = custom.filter((c) => c.priority === 0)
  const ageAt = printer.ageAfter ?? narrowColumns.length
  const columns = printer.ownLayout
    ? custom
    : [NAME_COLUMN, ...narrowColumns.slice(0, ageAt), AGE_COLUMN, ...narrowColumns.slice(ageAt), ...custom.filter((c) => c.priority > 0)]
  const rows = objects.map((object) => {
    const cells = printer.cells(object, now)
    let ordered: unknown[]
    if (printer.ownLayout) ordered = cells
    else {
      const narrow = cells.filter((_, i) => !printer.columns[i]!.wide)
      const wide = cells.filter((_, i) => printer.columns[i]!.wide)
      ordered = [object.metadata.name ?? '', ...narrow.slice(0, ageAt), age(object, now), ...narrow.slice(ageAt), ...wide]
    }
    const row: TableRow = {cells: ordered}
    const included = rowObject(object, options.include ?? 'Metadata')
    if (included !== undefined) row.object = included
    return row
  })
  const metadata: Table['metadata'] = {}
  if (options.resourceVersion) metadata.resourceVersion = options.resourceVersion
  if (options.continue) metadata.continue = options.continue
  return {kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata, columnDefinitions: columns, rows}
}

/** Does the Accept header ask for a Table (`application/json;as=Table;v=v1;g=meta.k8s.io`)? */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false
  return accept.split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim())
    return params.includes('as=Table') && params.includes('g=meta.k8s.io') && (params.includes('v=v1') || params.includes('v=v1beta1'))
  })
}
