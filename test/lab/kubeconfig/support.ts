/**
 * `xcc kubeconfig` against a lab built by `xcc lab up`, with what `xcc lab env` prints: the built
 * CLI with the lab's environment (a kubeconfig of the test's own in KUBECONFIG, the SDK's bin/ on
 * the PATH for gke-gcloud-auth-plugin), the real kubectl.1.32, and the lab's own kubeconfig as the
 * cluster admin to look at what xcc created.
 */
import {spawn} from 'node:child_process'
import {join} from 'node:path'

import {type LabCli, ROOT} from '../../support/lab-cli.js'
import {type GcloudLab, type RunResult, runTool, startGcloudLab} from '../cloud/support.js'

export interface KubeconfigLab {
  readonly cloud: GcloudLab
  /** the environment xcc runs with (the lab's, plus `extra`) */
  env(extra?: Record<string, string>): Record<string, string>
  /** xcc, synchronously; `--json` output parsed by the caller */
  xcc(args: readonly string[], extra?: Record<string, string>): {status: number | null; stdout: string; stderr: string; ms: number}
  /** xcc, as a child process (for runs at the same time) */
  xccAsync(args: readonly string[], extra?: Record<string, string>): Promise<RunResult>
  kubectl(args: readonly string[], extra?: Record<string, string>): Promise<RunResult>
  /** kubectl as the lab's admin (its own kubeconfig), on `cluster` */
  admin(cluster: string, args: readonly string[]): Promise<RunResult>
}

export function startKubeconfigLab(cli: LabCli, home: string, lab: string, toolHome: string, kubeconfig: string, topology?: string): KubeconfigLab {
  const cloud = topology ? startGcloudLab(cli, home, lab, toolHome, topology) : startGcloudLab(cli, home, lab, toolHome)
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({...cloud.env, KUBECONFIG: kubeconfig, PATH: `${cloud.bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: toolHome, ...extra})
  return {
    cloud, env,
    xcc(args, extra = {}) {
      const started = Date.now()
      const r = cli.run(home, args, {env: env(extra)})
      return {status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started}
    },
    xccAsync(args, extra = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, env: {...process.env, XCC_HOME: home, NO_COLOR: '1', ...env(extra)}, stdio: ['ignore', 'pipe', 'pipe']})
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
        child.once('error', reject)
        child.once('close', (code) => {
          clearTimeout(timer)
          resolve({code, stdout, stderr})
        })
      })
    },
    kubectl: (args, extra = {}) => runTool(cloud.bin, 'kubectl.1.32', args, env(extra), {home: toolHome, timeoutMs: 30_000}),
    admin: (cluster, args) => runTool(cloud.bin, 'kubectl.1.32', ['--kubeconfig', cloud.env.KUBECONFIG as string, '--context', cluster, ...args], {}, {home: toolHome, timeoutMs: 30_000}),
  }
}

/** the claims of a JWT, undefined for an opaque token */
export function jwtClaims(token: string): {exp?: number; [k: string]: unknown} | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    return JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as {exp?: number}
  } catch {
    return undefined
  }
}
