import { ConfigSyntaxError } from './errors.ts'
import { addInclude, type HoconObject, type HoconValue, setLocation, setPath } from './hocon-object.ts'

export {
  type HoconObject,
  type HoconValue,
  includesOf,
  isHoconObject,
  type Location,
  locationOf,
} from './hocon-object.ts'

/**
 * The dialect of HOCON that NanoMQ's config files are written in: `key = value`, `key: value` and
 * `key { ... }`, dotted keys (`headers.content-type`), fields and list elements separated by new lines or
 * commas, quoted and unquoted strings, numbers, booleans, `#` and `//` comments, and `include` lines
 * (recorded, see `includesOf`). Substitutions (`${...}`) and `+=` are refused with a clear error.
 *
 * Why our own reader and not a HOCON library: NanoMQ's parser (flex/bison in NanoNNG) is lenient where
 * HOCON is strict, and its own shipped files depend on it: `nodes [ ... ]` (an array with no `=`, in the
 * 0.13.x bridge blocks), `'single-quoted'` strings (in its docs), `url = http://x/y` and `topic = a/#`
 * unquoted (HOCON would end the value at `//` or `#`). A strict library refuses those files or reads them
 * wrongly, and none reports where a value was written, which every config error here must name.
 * (One file over 300 lines: the reader is a single state machine over the text.)
 */

export interface Position {
  line: number
  column: number
}

/** Characters that end an unquoted key segment. */
const KEY_STOP = new Set([' ', '\t', '\r', '\n', '.', '=', ':', '{', '}', '[', ']', ',', '"', '#', '+'])
/** Characters that end an unquoted value. */
const VALUE_STOP = new Set(['\r', '\n', ',', '}', ']', '{', '[', '"'])
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
}
const INCLUDE = /^include[ \t]+(?:"|(?:file|url|classpath|required)\()/

/**
 * Parses HOCON `text`; syntax errors name `file`, the line and the column.
 * @param start Where `text` begins in `file`, when it is a piece of it.
 */
export function parseHocon(
  text: string,
  file: string,
  start: Position = { line: 1, column: 1 },
): HoconObject {
  return new HoconParser(text, file, start).parseDocument()
}

class HoconParser {
  private pos = 0
  private line: number
  private column: number

  constructor(
    private readonly text: string,
    private readonly file: string,
    start: Position,
  ) {
    this.line = start.line
    this.column = start.column
  }

  parseDocument(): HoconObject {
    const root: HoconObject = {}
    if (this.text.startsWith('\uFEFF')) this.pos = 1
    this.skipBlank(true)
    if (this.peek() === '{') {
      const openedAt = this.here()
      this.advance()
      this.parseFields(root, [], openedAt)
      this.skipBlank(true)
      if (this.peek() !== undefined) this.fail('unexpected text after the closing }')
    } else {
      this.parseFields(root, [], undefined)
    }
    return root
  }

  /** Fields up to the `}` matching the brace opened at `openedAt`, or to the end of the file. */
  private parseFields(target: HoconObject, path: string[], openedAt: Position | undefined): void {
    const closing = openedAt ? '}' : undefined
    for (;;) {
      this.skipBlank(true)
      const c = this.peek()
      if (c === undefined) {
        if (openedAt) this.fail("this '{' is never closed", openedAt)
        return
      }
      if (c === closing) {
        this.advance()
        return
      }
      if (c === '}' || c === ']' || c === ',') this.fail(`unexpected '${c}'`)
      const name = INCLUDE.test(this.text.slice(this.pos, this.pos + 20))
        ? this.parseInclude(target, path)
        : this.parseField(target, path)
      this.skipBlank(false)
      const next = this.peek()
      if (next === ',') this.advance()
      else if (next !== '\n' && next !== undefined && next !== closing)
        this.fail(`expected a new line, ',' or '${closing ?? 'end of file'}' after the value of "${name}"`)
    }
  }

  private parseField(target: HoconObject, path: string[]): string {
    const at = this.here()
    const keys = this.parseKey()
    const fullPath = [...path, ...keys]
    const name = fullPath.join('.')
    this.skipBlank(false)
    this.skipNewlinesBeforeBracket()
    const c = this.peek()
    let value: HoconValue
    if (c === '{') {
      value = this.parseObject(fullPath)
    } else if (c === '[') {
      // `nodes [ ... ]`: not HOCON, but NanoMQ's parser takes it and its 0.13 files have it.
      value = this.parseArray(name)
    } else if (c === '=' || c === ':') {
      this.advance()
      this.skipBlank(false)
      value = this.parseValue(name, fullPath)
    } else if (c === '+' && this.peek(1) === '=') {
      this.fail(`"+=" is not supported (in "${name}"): write the whole list`)
    } else {
      this.fail(`expected '=', ':' or '{' after "${name}"`)
    }
    setPath(target, keys, value, { ...at, prefix: path })
    return name
  }

  /**
   * `include "file"` and `include file("...")`: recorded on the object they are written in, for the parts
   * that read them (the broker's password file); refused inside the webhook block.
   */
  private parseInclude(target: HoconObject, path: string[]): string {
    const at = this.here()
    if (path[0] === 'webhook')
      this.fail('include is not supported inside webhook { }: write the settings here', at)
    let included: string | undefined
    while (this.peek() !== undefined && this.peek() !== '\n' && this.peek() !== '}' && this.peek() !== ',') {
      if (this.peek() === '"') included ??= this.parseQuoted()
      else this.advance()
    }
    if (included !== undefined)
      addInclude(target, { ...at, key: [...path, 'include'].join('.'), path: included })
    return 'include'
  }

  private parseKey(): string[] {
    const segments: string[] = []
    for (;;) {
      if (this.peek() === '"') {
        segments.push(this.parseQuoted())
      } else {
        const start = this.pos
        while (this.pos < this.text.length && !KEY_STOP.has(this.text[this.pos] as string)) this.advance()
        if (this.pos === start) this.fail(segments.length ? 'expected a key after "."' : 'expected a key')
        segments.push(this.text.slice(start, this.pos))
      }
      if (this.peek() !== '.') return segments
      this.advance()
    }
  }

  private parseValue(name: string, path: string[]): HoconValue {
    const c = this.peek()
    if (c === '{') return this.parseObject(path)
    if (c === '[') return this.parseArray(name)
    if (c === '"')
      return this.text.startsWith('"""', this.pos) ? this.parseTripleQuoted() : this.parseQuoted()
    if (c === "'") return this.parseSingleQuoted()
    if (c === '$' && this.peek(1) === '{')
      this.fail(`substitutions (\${...}) are not supported (in "${name}")`)
    if (c === undefined || VALUE_STOP.has(c) || this.atCommentStart())
      this.fail(`missing value for "${name}"`)
    return this.parseUnquoted()
  }

  private parseObject(path: string[]): HoconObject {
    const openedAt = this.here()
    this.advance()
    const object: HoconObject = {}
    this.parseFields(object, path, openedAt)
    return object
  }

  private parseArray(name: string): HoconValue[] {
    const openedAt = this.here()
    this.advance()
    const items: HoconValue[] = []
    for (;;) {
      this.skipBlank(true)
      const c = this.peek()
      if (c === undefined) this.fail("this '[' is never closed", openedAt)
      if (c === ']') {
        this.advance()
        return items
      }
      if (c === ',') this.fail(`unexpected ',' in "${name}"`)
      if (c === '}') this.fail(`unexpected '}' in "${name}": is a ']' missing?`)
      const element = `${name}[${items.length}]`
      setLocation(items, items.length, { ...this.here(), key: element })
      items.push(this.parseValue(element, [element]))
      const crossedLine = this.skipBlank(true)
      const next = this.peek()
      if (next === ',') this.advance()
      else if (next !== ']' && next !== undefined && !crossedLine)
        this.fail(`expected ',' or a new line between the elements of "${name}"`)
    }
  }

  private parseQuoted(): string {
    const openedAt = this.here()
    this.advance()
    let out = ''
    for (;;) {
      const c = this.peek()
      if (c === undefined || c === '\n') this.fail('this string is never closed (missing ")', openedAt)
      const escapeAt = this.here()
      this.advance()
      if (c === '"') return out
      if (c !== '\\') {
        out += c
        continue
      }
      const e = this.peek()
      this.advance()
      if (e === 'u') {
        const hex = this.text.slice(this.pos, this.pos + 4)
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('\\u must be followed by 4 hex digits', escapeAt)
        for (let i = 0; i < 4; i++) this.advance()
        out += String.fromCharCode(Number.parseInt(hex, 16))
      } else if (e !== undefined && ESCAPES[e] !== undefined) {
        out += ESCAPES[e]
      } else {
        this.fail(`invalid escape "\\${e ?? ''}" in a string`, escapeAt)
      }
    }
  }

  /** `'nmq/#'`, as NanoMQ's docs write a value: no escapes, up to the next `'` on the line. */
  private parseSingleQuoted(): string {
    const openedAt = this.here()
    const end = this.text.indexOf("'", this.pos + 1)
    const newline = this.text.indexOf('\n', this.pos)
    if (end === -1 || (newline !== -1 && newline < end))
      this.fail("this string is never closed (missing ')", openedAt)
    const value = this.text.slice(this.pos + 1, end)
    while (this.pos <= end) this.advance()
    return value
  }

  private parseTripleQuoted(): string {
    const openedAt = this.here()
    const end = this.text.indexOf('"""', this.pos + 3)
    if (end === -1) this.fail('this """ string is never closed', openedAt)
    const value = this.text.slice(this.pos + 3, end)
    while (this.pos < end + 3) this.advance()
    return value
  }

  private parseUnquoted(): HoconValue {
    const start = this.pos
    while (this.pos < this.text.length) {
      const c = this.text[this.pos] as string
      if (VALUE_STOP.has(c)) break
      const previous = this.text[this.pos - 1]
      if (this.atCommentStart() && (previous === ' ' || previous === '\t')) break
      this.advance()
    }
    const raw = this.text.slice(start, this.pos).trimEnd()
    if (NUMBER.test(raw)) return Number(raw)
    if (raw === 'true' || raw === 'false') return raw === 'true'
    if (raw === 'null') return null
    return raw
  }

  /** Skips spaces, tabs and comments, and new lines too when `newlines`; returns whether one was crossed. */
  private skipBlank(newlines: boolean): boolean {
    let crossed = false
    for (;;) {
      const c = this.peek()
      if (c === ' ' || c === '\t' || c === '\r') {
        this.advance()
      } else if (this.atCommentStart()) {
        while (this.peek() !== undefined && this.peek() !== '\n') this.advance()
      } else if (c === '\n' && newlines) {
        this.advance()
        crossed = true
      } else {
        return crossed
      }
    }
  }

  /** `subscription` then `[` on the next line: NanoMQ's 0.13 bridge blocks put the bracket there. */
  private skipNewlinesBeforeBracket(): void {
    if (this.peek() !== '\n') return
    const saved = { pos: this.pos, line: this.line, column: this.column }
    this.skipBlank(true)
    if (this.peek() === '[' || this.peek() === '{') return
    this.pos = saved.pos
    this.line = saved.line
    this.column = saved.column
  }

  private atCommentStart(): boolean {
    const c = this.peek()
    return c === '#' || (c === '/' && this.peek(1) === '/')
  }

  private peek(offset = 0): string | undefined {
    return this.text[this.pos + offset]
  }

  private advance(): void {
    if (this.text[this.pos] === '\n') {
      this.line++
      this.column = 1
    } else {
      this.column++
    }
    this.pos++
  }

  private here(): Position {
    return { line: this.line, column: this.column }
  }

  private fail(reason: string, at: Position = this.here()): never {
    throw new ConfigSyntaxError(this.file, at.line, at.column, reason)
  }
}
