/** Fenced code blocks of a Markdown file, for the tests that hold docs/ to the code. */

export interface FencedBlock {
  /** the info string after the opening fence: `yaml`, `text`, `` for none */
  readonly lang: string
  readonly text: string
  /** 1-based line of the opening fence, for messages */
  readonly line: number
}

/** Every ``` block in document order. Only unindented fences count; docs/ uses no other kind. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] as string)
    if (!open) continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] as string); i++) body.push(lines[i] as string)
    if (i >= lines.length) throw new Error(`unclosed code block at line ${start + 1}`)
    blocks.push({lang: open[1] as string, text: body.length > 0 ? `${body.join('\n')}\n` : '', line: start + 1})
  }
  return blocks
}
