/** A rendered report as styled lines, drawn by the text renderer (ANSI or plain) and by ink. */
export type Style = 'plain' | 'dim' | 'bold' | 'ok' | 'bad' | 'warn' | 'accent' | 'code'
export interface Segment {
  readonly text: string
  readonly style?: Style
  /** a wrapped line continues under this segment (a hanging indent); without one, under the line's first character */
  readonly hang?: boolean
  /** verbatim machine output (a tcpdump line): the line is cut with `…` where it is too wide, never wrapped */
  readonly cut?: boolean
  /** a command to paste: the line is neither wrapped nor cut (the terminal folds it, and a copy stays one line) */
  readonly verbatim?: boolean
}
export type Line = readonly Segment[]
