import {Flags} from '@oclif/core'

import {DEFAULT_LAB_NAME, runLabEnv} from '../../app/lab.js'
import {XccCommand} from '../../cli/base-command.js'
import {renderLabEnv} from '../../render/lab-env.js'

export default class LabEnv extends XccCommand {
  static override summary = 'Print the environment that points kubectl, gcloud and xcc at a lab: eval "$(xcc lab env)".'
  static override description = `KUBECONFIG (one context per cluster), the lab's own CLOUDSDK_CONFIG (your gcloud configuration is never read or changed), the Compute Engine and GKE endpoint overrides, the project, and CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: the file that holds the lab's admin token (the token itself is never printed). gcloud container clusters get-credentials works against the lab; the lab's Kubernetes API servers accept its token, as GKE accepts Google tokens.

Exit codes: 0 printed, 2 no running lab of that name, 3 the lab's state cannot be read (a lab belongs to root: run it with sudo).`

  static override examples = ['eval "$(<%= config.bin %> lab env)"', '<%= config.bin %> lab env --name mylab --shell fish | source', '<%= config.bin %> lab env --json']
  static override flags = {
    name: Flags.string({description: 'Lab name.', default: DEFAULT_LAB_NAME, helpValue: 'NAME'}),
    shell: Flags.string({description: 'Syntax of the lines.', options: ['sh', 'fish'], default: 'sh'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(LabEnv)
    const view = runLabEnv(flags.name)
    if (flags.json) {
      this.printJson({schemaVersion: 1, name: view.name, project: view.project, url: view.url, viewerTokenFile: view.viewerTokenFile, faultsFile: view.faultsFile, variables: Object.fromEntries(view.variables)})
    } else process.stdout.write(renderLabEnv(view, flags.shell === 'fish' ? 'fish' : 'sh'))
  }
}
