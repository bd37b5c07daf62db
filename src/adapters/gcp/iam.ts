/**
 * The IAM port (core/ports/gcp-writes.ts IamApi) on @google-cloud/resource-manager 6: Cloud
 * Resource Manager v3 `projects.testIamPermissions` over REST (`fallback: true`), deep-imported like
 * the Compute clients. A refusal of the question itself (403), an API that is not there (404, 501)
 * or one that cannot be reached is `unavailable`, not an error: the writes then say what is missing.
 */
import {XccError} from '../../core/errors.js'
import type {IamApi, PermissionAnswer} from '../../core/ports/gcp-writes.js'
import type {ClientOptions} from './compute.js'
import {describeFailure} from './errors.js'
import {type CallContext, withRetries} from './retry.js'

/** how long the question may take: a preflight, not the command's whole --timeout */
const PREFLIGHT_MS = 20_000

interface ProjectsClient {
  testIamPermissions(request: {resource: string; permissions: string[]}): Promise<[{permissions?: string[] | null}]>
}

class Unavailable {
  constructor(readonly why: string) {}
}

export async function openIam(options: ClientOptions): Promise<IamApi> {
  const module = (await import('@google-cloud/resource-manager/build/src/v3/projects_client.js')) as {default?: Record<string, unknown>} & Record<string, unknown>
  const Client = (module.ProjectsClient ?? module.default?.ProjectsClient) as new (o: object) => ProjectsClient
  const client = new Client({
    authClient: options.auth, fallback: true,
    ...(options.endpoint ? {apiEndpoint: options.endpoint.host, port: options.endpoint.port, protocol: options.endpoint.protocol} : {}),
  })
  const endpoint = options.endpoint ? `${options.endpoint.protocol}://${options.endpoint.host}:${options.endpoint.port}` : 'cloudresourcemanager.googleapis.com'
  return {
    project: options.project,
    async testPermissions(permissions): Promise<PermissionAnswer> {
      if (permissions.length === 0) return {held: []}
      const ctx: CallContext = {api: 'Cloud Resource Manager', project: options.project, endpoint, deadline: Math.min(options.deadline, Date.now() + PREFLIGHT_MS), ...(options.stats ? {stats: options.stats} : {})}
      const held = new Set<string>()
      try {
        // the API takes at most 100 permissions a call
        for (let i = 0; i < permissions.length; i += 100) {
          const chunk = permissions.slice(i, i + 100)
          const answer = await withRetries(ctx, `testing ${chunk.length} IAM permissions on projects/${options.project}`, async () => {
            try {
              return await client.testIamPermissions({resource: `projects/${options.project}`, permissions: [...chunk]})
            } catch (error) {
              const f = describeFailure(error)
              // gax's REST fallback may carry only the gRPC code: 7 PERMISSION_DENIED, 5 NOT_FOUND, 12 UNIMPLEMENTED
              const grpc = (error as {code?: unknown}).code
              if (f.status === undefined && (grpc === 7 || grpc === 5 || grpc === 12)) return new Unavailable(`${endpoint} answered gRPC code ${grpc}: ${f.message}`)
              if (f.status === 401) throw error
              if (f.status === 403 || f.status === 404 || f.status === 405 || f.status === 501 || f.reason === 'UNIMPLEMENTED') return new Unavailable(`${endpoint} answered ${f.status ?? f.reason}: ${f.message}`)
              throw error
            }
          })
          if (answer instanceof Unavailable) return {unavailable: answer.why}
          for (const p of answer[0].permissions ?? []) held.add(p)
        }
      } catch (error) {
        if (error instanceof XccError && !/refused the credentials/.test(error.message)) return {unavailable: error.message}
        throw error
      }
      return {held: permissions.filter((p) => held.has(p))}
    },
  }
}
