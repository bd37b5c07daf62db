/** Container image references given on the command line. */
import {XccError} from '../errors.js'

/** `--image`: an image reference, or bad input */
export function checkImage(image: string | undefined): void {
  if (image !== undefined && !/^[a-z0-9][a-z0-9._/:@-]*$/i.test(image)) throw new XccError(`--image ${image}: not an image reference`)
}
