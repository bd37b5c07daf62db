/**
 * The serial console of the lab's VMs, as `gcloud compute instances get-serial-port-output` shows
 * it. The lab's runtime boots a VM (runtime/vm-boot.ts: its startup-script runs inside it and its
 * output is the console); the API reads the console by byte offset, as GCE pages it.
 */
import {readSerialPortOutput} from '../runtime/vm-boot.js'

export interface SerialConsoles {
  /** bytes `start`… of the console, and where the next read starts (an empty console for a VM that has none yet) */
  read(instance: string, start: number): {contents: string; start: number; next: number}
}

/** the consoles of the lab whose state directory is `dir` */
export function labSerialConsoles(dir: string): SerialConsoles {
  return {read: (instance, start) => readSerialPortOutput(dir, instance, start) ?? {contents: '', start: 0, next: 0}}
}
