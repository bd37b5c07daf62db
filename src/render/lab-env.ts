/**
 * `xcc lab env`: lines that, evaluated by the shell, export the lab's environment. Every value is
 * quoted (POSIX sh single quotes; fish's, where `\` and `'` are escaped), so a path with spaces or
 * quotes survives `eval`.
 */
export interface LabEnvView {
  readonly name: string
  readonly project: string
  /** the cloud API, `http://127.0.0.1:PORT` */
  readonly url: string
  readonly viewerTokenFile: string
  readonly faultsFile: string
  readonly variables: ReadonlyArray<readonly [string, string]>
}

export type EnvShell = 'sh' | 'fish'

function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

function fishQuote(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`
}

export function renderLabEnv(view: LabEnvView, shell: EnvShell): string {
  const lines = view.variables.map(([name, value]) => (shell === 'fish' ? `set -gx ${name} ${fishQuote(value)};` : `export ${name}=${shQuote(value)}`))
  return `# lab ${view.name}: kubectl, gcloud and xcc on project ${view.project} (${view.url}); eval this output\n${lines.join('\n')}\n`
}
