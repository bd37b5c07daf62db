/** What `xcc lab up` needs from the machine, checked before anything is created. */
import {spawnSync} from 'node:child_process'

import {XccError} from '../../core/errors.js'

type Tool = readonly [command: string, args: string[], pkg: string]

/** enough to enter and remove namespaces (`lab exec`, `lab down`) */
export const LAB_BASE_TOOLS: readonly Tool[] = [['ip', ['-V'], 'iproute2']]

/** everything `lab up` builds and runs with */
export const LAB_UP_TOOLS: readonly Tool[] = [
  ['ip', ['-V'], 'iproute2'],
  ['iptables-restore', ['--version'], 'iptables'],
  ['tcpdump', ['--version'], 'tcpdump'],
  ['socat', ['-V'], 'socat'],
  ['curl', ['--version'], 'curl'],
  ['openssl', ['version'], 'openssl'],
  // pods run as their securityContext says, never as root by default
  ['setpriv', ['--version'], 'util-linux'],
]

export interface PreflightEnv {
  readonly uid: number | undefined
  readonly has: (command: string, args: readonly string[]) => boolean
}

export function realPreflightEnv(): PreflightEnv {
  return {
    uid: typeof process.getuid === 'function' ? process.getuid() : undefined,
    has: (command, args) => spawnSync(command, args, {stdio: 'ignore', timeout: 10_000}).error === undefined,
  }
}

/** Throws exit 3 (environment) when not root or one of `tools` is missing, naming what to install. */
export function preflight(tools: readonly Tool[], env: PreflightEnv = realPreflightEnv()): void {
  if (env.uid !== 0) {
    throw new XccError('xcc lab needs root: it creates network namespaces, veths and iptables rules', {
      exitCode: 3, hint: 'run it with sudo (give sudo XCC_HOME=… if you use another home), or as root in a VM or CI machine',
    })
  }
  const missing = tools.filter(([command, args]) => !env.has(command, args))
  if (missing.length > 0) {
    throw new XccError(`xcc lab needs ${missing.map(([c, , p]) => `${c} (package ${p})`).join(', ')}`, {
      exitCode: 3, hint: `apt-get install -y ${[...new Set(missing.map(([, , p]) => p))].join(' ')}`,
    })
  }
}
