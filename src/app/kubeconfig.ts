/**
 * `xcc kubeconfig generate`: a kubeconfig for one GKE cluster, with gcloud's exec-plugin user, the
 * caller's short-lived access token, or a ServiceAccount of its own (least privilege, its token
 * bound to an anchor Secret and bounded in time), written 0600 atomically or merged under the
 * kubeconfig lock, then proved with the file itself (/version, who am I, an access review per
 * rule). Nothing is left half-created: the output path is checked and the permissions asked before
 * any object is created, and the objects created are deleted again when a later step fails.
 */
import {type AccessToken} from '../adapters/gcp/index.js'
import {checkWritable, commandOnPath, mergeDestination, readKubeconfigIfAny, withKubeconfigLock, writeKubeconfig} from '../adapters/files/kubeconfig-file.js'
import {readInputFile} from '../adapters/files/index.js'
import {locateKubeconfig} from '../adapters/kube/config.js'
import {openKubeconfigText, preloadKubeClient} from '../adapters/kube/issuer.js'
import {XccError, mayHaveApplied} from '../core/errors.js'
import {type AuthMode, type ChosenEndpoint, EXEC_PLUGIN, type EndpointKind, type KubeconfigEntry, type UserEntry, buildKubeconfig, defaultContextName, redactTokens, toYaml} from '../core/kubeconfig/document.js'
import {type LegacyAuth, findLegacyAuth} from '../core/kubeconfig/legacy.js'
import {mergeKubeconfig} from '../core/kubeconfig/merge.js'
import {EXPIRES_ANNOTATION, type IssuePlan, KUBECONFIG_LABEL, type ManifestObject, type ServiceAccountRef, checkNamespaces, isOwned, describeObject, issueObjects, neededPermissions, objectNames, parseServiceAccount} from '../core/kubeconfig/objects.js'
import {type RoleChoice, checkNamespacedRules, isPreset, parseRoleFile, presetRole} from '../core/kubeconfig/roles.js'
import {type VerifyRow, accessChecks, jwtExpiry, parseTtl, verifyRows} from '../core/kubeconfig/verify.js'
import type {IssuedKind, IssuedObject, KubeIssuer} from '../core/ports/kube-issuer.js'
import {type ResolvedCluster, endpointOf, openAsCaller, resolveCluster, revokeIssued} from './kubeconfig-cluster.js'

export interface GenerateRequest {
  readonly cluster: string
  readonly location?: string
  readonly project?: string
  readonly auth: AuthMode
  readonly serviceAccount?: string
  readonly role?: string
  readonly namespaces: readonly string[]
  readonly ttl?: string
  readonly endpoint: EndpointKind
  /** `-o FILE` (`-` for stdout) */
  readonly output?: string
  /** `--merge [FILE]`: '' for kubectl's first file */
  readonly merge?: string
  readonly contextName?: string
  readonly useContext: boolean
  readonly force: boolean
  readonly verify: boolean
  readonly dryRun: boolean
  readonly timeoutMs: number
  readonly progress: (text: string) => void
}

export interface GenerateResult {
  readonly project: string
  readonly projectSource: string
  readonly cluster: {readonly name: string; readonly location: string}
  readonly context: string
  readonly auth: AuthMode
  readonly endpoint: {readonly kind: EndpointKind; readonly server: string; readonly caSource: string}
  /** where it went: a file, a merged file, stdout, or nowhere (dry run) */
  readonly written?: {readonly path: string; readonly merged: boolean; readonly preserved?: boolean; readonly currentContext?: string}
  readonly kubeconfig?: string
  /** the same, its token replaced (for --json without --show-token) */
  readonly redactedKubeconfig?: string
  readonly serviceAccount?: string
  readonly role?: string
  readonly expires?: string
  readonly requestedTtl?: string
  readonly created: readonly string[]
  readonly dryRunObjects?: readonly ManifestObject[]
  readonly verification?: readonly VerifyRow[]
  readonly warnings: readonly string[]
  readonly legacyAuth: readonly LegacyAuth[]
  readonly token?: string
}

interface Checked {
  readonly role?: RoleChoice
  readonly plan?: Omit<IssuePlan, 'context'>
  readonly ttlSeconds?: number | 'never'
}

/** flags and files, before anything is contacted (exit 2) */
async function checkRequest(request: GenerateRequest): Promise<Checked> {
  const sa = request.auth === 'service-account'
  for (const [flag, given] of [['--service-account', request.serviceAccount], ['--role', request.role], ['--ttl', request.ttl], ['--namespace', request.namespaces.length ? 'x' : undefined]] as const) {
    if (!sa && given !== undefined) throw new XccError(`${flag} applies to --auth service-account only (this is --auth ${request.auth})`, {exitCode: 2})
  }
  if (request.output !== undefined && request.merge !== undefined) throw new XccError('-o and --merge are exclusive: write a file of its own, or merge into a kubeconfig', {exitCode: 2})
  if (request.useContext && request.merge === undefined) throw new XccError('--use-context applies to --merge', {exitCode: 2, hint: 'a file of its own (-o FILE) always has the new context as current-context'})
  if (!sa) return {}
  const roleText = request.role ?? 'view'
  const role = isPreset(roleText) ? presetRole(roleText) : parseRoleFile(await readInputFile(roleText, 'role file', 'pass a preset (view, service-reader, ingress-nginx, cluster-admin) or a YAML file of RBAC rules'), roleText)
  checkNamespaces(request.namespaces)
  checkNamespacedRules(role, request.namespaces)
  const ttlText = request.ttl ?? '24h'
  const ttlSeconds = parseTtl(ttlText)
  const ref = parseServiceAccount(request.serviceAccount, role.name)
  return {role, ttlSeconds, plan: {sa: ref, role, namespaces: [...new Set(request.namespaces)], legacyToken: ttlSeconds === 'never', ttlText}}
}

/** where the file goes; checked writable before anything is created */
async function outputTarget(request: GenerateRequest): Promise<{path: string; merge: boolean} | undefined> {
  if (request.dryRun) return undefined
  if (request.merge !== undefined) {
    const path = request.merge || mergeDestination(locateKubeconfig({env: process.env}).paths)
    await checkWritable(path, {createDirectory: request.merge === ''})
    return {path, merge: true}
  }
  const path = request.output ?? '-'
  if (path !== '-') await checkWritable(path, {createDirectory: false})
  return {path, merge: false}
}

/** legacy users in the kubeconfig files kubectl reads (best effort: an unreadable file says nothing) */
function scanLegacy(resolved: ResolvedCluster, server: string): LegacyAuth[] {
  const out: LegacyAuth[] = []
  for (const path of locateKubeconfig({env: process.env}).paths) {
    let text: string | undefined
    try {
      text = readKubeconfigIfAny(path)
    } catch {
      continue
    }
    if (text) out.push(...findLegacyAuth(path, text, [server], {project: resolved.project, location: resolved.cluster.location, cluster: resolved.cluster.name}))
  }
  return out
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

interface Issued {
  readonly user: UserEntry
  readonly expires: string
  readonly created: ManifestObject[]
  readonly warnings: string[]
}

/** creates the objects (rolled back on failure) and gets the token */
async function issue(kube: KubeIssuer, plan: IssuePlan, ttlSeconds: number | 'never', request: GenerateRequest): Promise<Issued> {
  const objects = issueObjects(plan)
  const namespaces = [...new Set([plan.sa.namespace, ...plan.namespaces])]
  const needed = neededPermissions(objects, plan.legacyToken)
  // one round trip for the three questions (each is read-only); their answers are looked at in this order
  const [existingAnswer, presentAnswer, permissionAnswers] = await Promise.allSettled([
    kube.read('ServiceAccount', plan.sa.namespace, plan.sa.name),
    Promise.all(namespaces.map((ns) => kube.namespaceExists(ns))),
    kube.canI(needed),
  ])
  const settled = <T>(answer: PromiseSettledResult<T>): T => {
    if (answer.status === 'rejected') throw answer.reason
    return answer.value
  }
  const existing = settled(existingAnswer)
  if (existing) {
    if (!request.force) throw new XccError(`serviceaccount ${plan.sa.namespace}/${plan.sa.name} already exists`, {exitCode: 2, hint: `--force issues it again (its old tokens are revoked), --service-account picks another name; xcc kubeconfig revoke --service-account ${plan.sa.namespace}/${plan.sa.name} removes it`})
    const gone = await revokeIssued(kube, plan.sa, {requireIssued: false})
    request.progress(`revoked the previous kubeconfig of ${plan.sa.namespace}/${plan.sa.name} (${gone.length} objects)`)
  }
  const present = settled(presentAnswer)
  const absent = namespaces.filter((_, i) => !present[i])
  if (absent.length > 0) throw new XccError(`namespace ${absent.join(', ')} does not exist on cluster ${plan.context}`, {exitCode: 2, hint: 'create it first (kubectl create namespace NS), or name another with --service-account NS/NAME or --namespace'})
  const answers = settled(permissionAnswers)
  const denied = needed.filter((_, i) => !answers[i]?.allowed)
  if (denied.length > 0) {
    const first = denied[0] as (typeof denied)[number]
    const say = (d: typeof first): string => `${d.verb} ${d.resource}${d.subresource ? `/${d.subresource}` : ''}${d.group ? `.${d.group}` : ''}${d.namespace ? ` in namespace ${d.namespace}` : ' (cluster-wide)'}`
    throw new XccError(`missing permission: ${say(first)}, which issuing this kubeconfig needs; nothing was created`, {
      exitCode: 3, details: denied.slice(1).map((d) => `also missing: ${say(d)}`),
      hint: 'ask for roles/container.admin (or an RBAC role that may create ServiceAccounts, Secrets, roles and bindings and request tokens) on the cluster, or use --auth token or exec',
    })
  }
  const created: ManifestObject[] = []
  const uncertain: ManifestObject[] = []
  try {
    // all at once (one round trip: the anchor Secret and the bindings need not wait for the ServiceAccount), except for
    // --ttl never: the ServiceAccount first, since the token controller fills a legacy Secret only for an existing one
    const [account, ...rest] = objects as [ManifestObject, ...ManifestObject[]]
    const create = async (object: ManifestObject): Promise<IssuedObject> => {
      try {
        const answer = await kube.create(object)
        created.push(object)
        return answer
      } catch (error) {
        // sent but not answered (a timeout, a 5xx): it may exist all the same, and is looked at on the way out
        if (mayHaveApplied(error)) uncertain.push(object)
        throw error
      }
    }
    if (plan.legacyToken) await create(account)
    const made = await Promise.allSettled((plan.legacyToken ? rest : objects).map(create))
    const failed = made.find((m): m is PromiseRejectedResult => m.status === 'rejected')
    if (failed) throw failed.reason
    const anchorUid = made.map((m) => (m.status === 'fulfilled' ? m.value : undefined)).find((o) => o?.kind === 'Secret')?.metadata.uid ?? ''
    const names = objectNames(plan.sa)
    const warnings: string[] = []
    if (ttlSeconds === 'never') {
      const token = await legacyToken(kube, plan.sa.namespace, names.legacyToken)
      warnings.push(`--ttl never: the token never expires; xcc kubeconfig revoke --service-account ${plan.sa.namespace}/${plan.sa.name} is the only way to end it`)
      return {user: {kind: 'token', token, source: `serviceaccount ${plan.sa.namespace}/${plan.sa.name} (legacy token Secret ${names.legacyToken})`}, expires: 'never', created: objects.filter((o) => created.includes(o)), warnings}
    }
    const granted = await kube.requestToken(plan.sa.namespace, plan.sa.name, {expirationSeconds: ttlSeconds, boundSecret: {name: names.anchor, uid: anchorUid}})
    const fromJwt = jwtExpiry(granted.token)
    const expiresMs = fromJwt !== undefined ? fromJwt * 1000 : Date.parse(granted.expirationTimestamp)
    const expires = iso(expiresMs)
    const asked = Date.now() + ttlSeconds * 1000
    if (expiresMs < asked - 60_000) warnings.push(`the cluster granted a shorter token than asked: it expires at ${expires} (${Math.round((expiresMs - Date.now()) / 60_000)} min), not in ${plan.ttlText}`)
    await kube.annotate('Secret', plan.sa.namespace, names.anchor, {[EXPIRES_ANNOTATION]: expires})
    return {user: {kind: 'token', token: granted.token, expires, source: `serviceaccount ${plan.sa.namespace}/${plan.sa.name} (TokenRequest bound to Secret ${names.anchor})`}, expires, created: objects.filter((o) => created.includes(o)), warnings}
  } catch (error) {
    await rollback(kube, created, request, uncertain, plan.sa)
    throw error
  }
}

/** the token the controller writes into a legacy token Secret (polled, bounded) */
async function legacyToken(kube: KubeIssuer, namespace: string, name: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const secret = await kube.read('Secret', namespace, name)
    const data = secret?.data?.token
    if (data) return Buffer.from(data, 'base64').toString('utf8')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new XccError(`the token controller did not fill Secret ${namespace}/${name} within 10 s`, {exitCode: 3, hint: 'clusters from Kubernetes 1.24 on still fill manually created token Secrets; check the kube-controller-manager'})
}

async function rollback(kube: KubeIssuer, created: readonly ManifestObject[], request: GenerateRequest, uncertain: readonly ManifestObject[] = [], sa?: ServiceAccountRef): Promise<void> {
  // what may have been created without an answer is deleted only when it carries xcc's labels for this service account
  for (const object of uncertain) {
    try {
      const found = await kube.read(object.kind as IssuedKind, object.metadata.namespace, object.metadata.name)
      if (found && sa && isOwned(found.metadata.labels, sa)) await kube.remove(object.kind as IssuedKind, object.metadata.namespace, object.metadata.name)
    } catch {
      request.progress(`${describeObject(object)} may have been created: check it, and delete it if it carries the label ${KUBECONFIG_LABEL}`)
    }
  }
  for (const object of [...created].reverse()) {
    try {
      await kube.remove(object.kind as IssuedKind, object.metadata.namespace, object.metadata.name)
    } catch {
      request.progress(`could not delete ${describeObject(object)} again: delete it by hand`)
    }
  }
  if (created.length > 0) request.progress(`deleted again the ${created.length} objects created before the failure`)
}

async function verify(text: string, context: string, expectUser: string | undefined, role: RoleChoice | undefined, namespaces: readonly string[]): Promise<VerifyRow[]> {
  const {probe} = await openKubeconfigText(text, context, {label: 'the new kubeconfig'})
  const message = (error: unknown): string => (error as Error).message
  const checks = role ? accessChecks(role, namespaces) : []
  // asked at once; an unreachable server fails them all, and the table says so once
  const [version, whoami, answers] = await Promise.all([
    probe.version().then((gitVersion) => ({ok: true as const, gitVersion}), (error) => ({ok: false as const, error: message(error)})),
    probe.whoami().then((w) => ({ok: true as const, ...w}), (error) => ({ok: false as const, error: message(error)})),
    checks.length ? probe.canI(checks.map((c) => c.question)).then((a) => a.map((answer) => ({answer})), (error) => checks.map(() => ({error: message(error)}))) : Promise.resolve([]),
  ])
  if (!version.ok) return verifyRows({version, access: []})
  return verifyRows({version, whoami, ...(expectUser ? {expectUser} : {}), access: checks.map((check, i) => ({check, ...answers[i]}))})
}

export async function generateKubeconfig(request: GenerateRequest): Promise<GenerateResult> {
  const checked = await checkRequest(request)
  const target = await outputTarget(request)
  if (request.auth === 'service-account' || request.verify) preloadKubeClient()
  request.progress(`reading GKE cluster ${request.cluster}${request.location ? ` in ${request.location}` : ''}`)
  const resolved = await resolveCluster(request)
  const endpoint: ChosenEndpoint = endpointOf(resolved, request.endpoint, request.auth)
  const context = request.contextName ?? defaultContextName(resolved.project, resolved.cluster.location, resolved.cluster.name)
  const warnings = [...endpoint.warnings]
  // a name the merge target already has is refused now, before anything is created
  if (target?.merge) mergeKubeconfig(readKubeconfigIfAny(target.path), {context, endpoint, user: {kind: 'exec'}}, {force: request.force, useContext: request.useContext, path: target.path})
  const legacy = scanLegacy(resolved, endpoint.server)
  const base = {project: resolved.project, projectSource: resolved.projectSource, cluster: {name: resolved.cluster.name, location: resolved.cluster.location}, context, auth: request.auth, endpoint: {kind: endpoint.kind, server: endpoint.server, caSource: endpoint.caSource}, legacyAuth: legacy}
  let user: UserEntry
  let expires: string | undefined
  let created: ManifestObject[] = []
  let kube: KubeIssuer | undefined
  const plan = checked.plan ? {...checked.plan, context} : undefined
  if (request.auth === 'exec') {
    if (!commandOnPath(EXEC_PLUGIN)) warnings.push(`${EXEC_PLUGIN} is not on the PATH: kubectl cannot use this file until it is installed (gcloud components install gke-gcloud-auth-plugin); for a CI job or a container without it, use --auth token or --auth service-account`)
    user = {kind: 'exec'}
  } else if (request.auth === 'token') {
    const token: AccessToken = await resolved.gcp.accessToken()
    expires = token.expires
    if (!expires) warnings.push(`the access token comes from ${token.source}, which does not say when it expires: Google access tokens last at most 1 h`)
    user = {kind: 'token', token: token.token, ...(expires ? {expires} : {}), source: token.source}
  } else {
    kube = await openAsCaller(resolved, endpoint)
    if (request.dryRun) {
      return {...base, created: [], dryRunObjects: issueObjects(plan as IssuePlan), warnings, serviceAccount: `${plan?.sa.namespace}/${plan?.sa.name}`, role: checked.role?.name, requestedTtl: plan?.ttlText}
    }
    request.progress(`creating serviceaccount ${plan?.sa.namespace}/${plan?.sa.name} with role ${checked.role?.name}`)
    const issued = await issue(kube, plan as IssuePlan, checked.ttlSeconds as number | 'never', request)
    ;({user, expires, created} = issued)
    warnings.push(...issued.warnings)
  }
  const entry: KubeconfigEntry = {context, endpoint, user, ...(request.namespaces[0] ? {namespace: request.namespaces[0]} : {})}
  const own = toYaml(buildKubeconfig(entry))
  const saFields = plan ? {serviceAccount: `${plan.sa.namespace}/${plan.sa.name}`, role: plan.role.name, requestedTtl: plan.ttlText} : {}
  const token = user.kind === 'token' ? user.token : undefined
  if (!target) return {...base, ...saFields, created: [], kubeconfig: toYaml(redactTokens(buildKubeconfig(entry))), warnings, ...(expires ? {expires} : {})}
  let written: GenerateResult['written']
  try {
    if (target.merge) {
      written = await withKubeconfigLock(target.path, async () => {
        const merged = mergeKubeconfig(readKubeconfigIfAny(target.path), entry, {force: request.force, useContext: request.useContext, path: target.path})
        await writeKubeconfig(target.path, merged.text)
        return {path: target.path, merged: true, preserved: merged.preserved, ...(merged.currentContext ? {currentContext: merged.currentContext} : {})}
      })
    } else if (target.path !== '-') {
      await writeKubeconfig(target.path, own)
      written = {path: target.path, merged: false, currentContext: context}
    } else written = {path: '-', merged: false}
  } catch (error) {
    if (kube) await rollback(kube, created, request)
    throw error
  }
  if (request.progress && target.path !== '-') request.progress(`wrote ${target.path}${target.merge ? ' (merged)' : ''}`)
  const verification = request.verify ? await verify(own, context, plan ? `system:serviceaccount:${plan.sa.namespace}:${plan.sa.name}` : undefined, checked.role, plan?.namespaces ?? []) : undefined
  return {
    ...base, ...saFields, written, ...(target.path === '-' ? {kubeconfig: own, redactedKubeconfig: toYaml(redactTokens(buildKubeconfig(entry)))} : {}), ...(expires ? {expires} : {}), created: created.map(describeObject),
    ...(verification ? {verification} : {}), warnings, ...(token ? {token} : {}),
  }
}
