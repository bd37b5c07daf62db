/**
 * Network-namespace helpers for lab tests. Every namespace is named `xcct-<label>-<pid>-<random>-<short>`
 * and every link is created inside test namespaces (`ip -n A link add X type veth peer name Y netns B`),
 * so nothing ever touches the host's own network. `destroy()` removes exactly what the lab created;
 * it runs from the test's `after`/`finally` and, as a safety net, when the process exits or is
 * interrupted (SIGINT, SIGTERM, SIGHUP).
 */
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {closeSync, openSync} from 'node:fs'

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

/** Fails (never skips) when the machine cannot run kernel lab tests, saying what to install. */
export function requireLabTools(extra: ReadonlyArray<[string, string[], string]> = []): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error('kernel lab tests need root (network namespaces, iptables-restore, conntrack): run them as root')
  }
  const tools: Array<[string, string[], string]> = [
    ['ip', ['-V'], 'iproute2'],
    ['iptables-restore', ['--version'], 'iptables'],
    ['conntrack', ['--version'], 'conntrack'],
    ...extra,
  ]
  const missing = tools.filter(([command, args]) => {
    const result = spawnSync(command, args, {stdio: 'ignore'})
    return result.error !== undefined
  })
  if (missing.length > 0) {
    throw new Error(`kernel lab tests need ${missing.map(([c, , p]) => `${c} (package ${p})`).join(', ')}: apt-get install -y ${[...new Set(missing.map(([, , p]) => p))].join(' ')}`)
  }
}

export interface RunOptions {
  readonly input?: string
  readonly timeoutMs?: number
}

export class NetnsLab {
  readonly prefix: string
  private readonly namespaces: string[] = []
  private readonly children = new Set<ChildProcess>()
  private readonly onExit = (): void => this.destroy()
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    // clean up, then die of the same signal as the default handler would
    try {
      this.destroy()
    } finally {
      process.kill(process.pid, signal)
    }
  }

  constructor(label: string) {
    if (!/^[a-z0-9]{1,12}$/.test(label)) throw new Error(`lab label must be 1-12 lowercase letters or digits: ${label}`)
    this.prefix = `xcct-${label}-${process.pid}-${randomBytes(3).toString('hex')}`
    process.once('exit', this.onExit)
    for (const signal of SIGNALS) process.once(signal, this.onSignal)
  }

  /** Runs `ip …` on the host side; private so that every command goes through a lab namespace. */
  private run(command: string, args: readonly string[], options: RunOptions = {}): string {
    const result = spawnSync(command, args, {input: options.input, timeout: options.timeoutMs ?? 20_000, encoding: 'utf8'})
    if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`)
    if (result.status !== 0) {
      throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr.trim() || result.stdout.trim()}`)
    }
    return result.stdout
  }

  /** Creates a namespace with its loopback up and returns its full name. */
  namespace(short: string): string {
    const name = `${this.prefix}-${short}`
    this.run('ip', ['netns', 'add', name])
    this.namespaces.push(name)
    this.run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
    return name
  }

  /** Runs a command inside a namespace. */
  exec(ns: string, command: string, args: readonly string[], options: RunOptions = {}): string {
    this.assertOwned(ns)
    return this.run('ip', ['netns', 'exec', ns, command, ...args], options)
  }

  /** Feeds `ip` commands (without the leading `ip`) to `ip -n ns -batch -`. */
  batch(ns: string, lines: readonly string[]): void {
    this.assertOwned(ns)
    if (lines.length > 0) this.run('ip', ['-n', ns, '-batch', '-'], {input: `${lines.join('\n')}\n`})
  }

  /** A veth pair whose ends both live in namespaces of this lab, brought up. */
  veth(nsA: string, ifA: string, nsB: string, ifB: string): void {
    this.assertOwned(nsA)
    this.assertOwned(nsB)
    this.run('ip', ['-n', nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB])
    this.run('ip', ['-n', nsA, 'link', 'set', ifA, 'up'])
    this.run('ip', ['-n', nsB, 'link', 'set', ifB, 'up'])
  }

  sysctl(ns: string, key: string, value: string): void {
    this.exec(ns, 'sysctl', ['-qw', `${key}=${value}`])
  }

  /** Starts a long-running command inside a namespace with stdout to a file; stop it with `stop`. */
  spawnIn(ns: string, command: string, args: readonly string[], stdoutFile: string): ChildProcess {
    this.assertOwned(ns)
    const fd = openSync(stdoutFile, 'w')
    try {
      const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {stdio: ['ignore', fd, 'pipe']})
      this.children.add(child)
      child.once('exit', () => this.children.delete(child))
      return child
    } finally {
      closeSync(fd)
    }
  }

  /** Runs a command inside a namespace without blocking the event loop. */
  execAsync(ns: string, command: string, args: readonly string[], timeoutMs: number): Promise<string> {
    this.assertOwned(ns)
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
      this.children.add(child)
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        this.children.delete(child)
        if (code === 0) resolve(stdout)
        else reject(new Error(`${command} in ${ns} ended with ${code ?? signal}: ${stderr.trim()}`))
      })
    })
  }

  /** Stops a process this lab started (by its own pid) and waits for it to end. */
  async stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return
    const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
    await ended
    clearTimeout(timer)
  }

  /** Removes every namespace of this lab (their links go with them). Safe to call twice. */
  destroy(): void {
    for (const child of this.children) child.kill('SIGKILL')
    this.children.clear()
    const failures: string[] = []
    while (this.namespaces.length > 0) {
      const ns = this.namespaces.pop() as string
      const result = spawnSync('ip', ['netns', 'del', ns], {encoding: 'utf8', timeout: 10_000})
      if (result.status !== 0) failures.push(`${ns}: ${result.stderr?.trim() ?? result.error?.message}`)
    }
    process.removeListener('exit', this.onExit)
    for (const signal of SIGNALS) process.removeListener(signal, this.onSignal)
    if (failures.length > 0) throw new Error(`could not delete lab namespaces: ${failures.join('; ')}`)
  }

  private assertOwned(ns: string): void {
    if (!this.namespaces.includes(ns)) throw new Error(`namespace ${ns} does not belong to this lab`)
  }
}
