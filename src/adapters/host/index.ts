/**
 * The host port (src/core/ports/host.ts) for cloud VMs: reaching a VM needs SSH
 * (`gcloud compute ssh`), which xcc does not do yet, so the port says why it is unavailable and
 * the live doctor reports those captures as not taken. Lab VMs are reached by src/lab/instances.ts.
 */
import type {InstanceShell} from '../../core/ports/host.js'

/** VMs cannot be reached (yet): every capture on one reports why */
export const NO_INSTANCE_SHELL: InstanceShell = {
  unavailable: 'capturing on VMs needs SSH access (gcloud compute ssh), which xcc does not do yet; only lab instances can be captured on',
  start: async () => {
    throw new Error('no instance shell')
  },
}
