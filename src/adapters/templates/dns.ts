/** The manifests of `xcc dns link`'s responder (templates/dns/responder.yaml), read from the package. */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const RESPONDER = fileURLToPath(new URL('../../../templates/dns/responder.yaml', import.meta.url))

export function loadResponderTemplate(): string {
  return readFileSync(RESPONDER, 'utf8')
}
