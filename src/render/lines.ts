/** A rendered report as styled lines, drawn by the text renderer (ANSI or plain) and by ink. */
export type Style = 'plain' | 'dim' | 'bold' | 'ok' | 'bad' | 'warn' | 'accent' | 'code'
export interface Segment {
  readonly text: string
  readonly style?: Style
}
export type Line = readonly Segment[]
