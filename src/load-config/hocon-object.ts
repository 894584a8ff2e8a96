/** What the HOCON parser builds: plain JSON-like values. */

export type HoconValue = string | number | boolean | null | HoconValue[] | HoconObject
export interface HoconObject {
  [key: string]: HoconValue
}

export function isHoconObject(value: HoconValue | undefined): value is HoconObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Where a value was written: its key's first character, and the key's full dotted path as the file spells it. */
export interface Location {
  line: number
  column: number
  /** `webhook.events[0].topic`, `auth.password.admin`... */
  key: string
}

// Kept beside the parsed values (not in them), so that the values stay the plain JSON-like data callers expect.
const locations = new WeakMap<object, Map<string, Location>>()
const includes = new WeakMap<object, Include[]>()

/** An `include "file"` line met inside an object: the path as written, and where. */
export interface Include extends Location {
  path: string
}

/** Where `container[key]` was written, when it came from a file. */
export function locationOf(container: object, key: string | number): Location | undefined {
  return locations.get(container)?.get(String(key))
}

export function setLocation(container: object, key: string | number, location: Location): void {
  let map = locations.get(container)
  if (map === undefined) {
    map = new Map()
    locations.set(container, map)
  }
  map.set(String(key), location)
}

/** The `include` lines written directly inside `object`, in order. */
export function includesOf(object: object): Include[] {
  return includes.get(object) ?? []
}

export function addInclude(object: object, include: Include): void {
  includes.set(object, [...includesOf(object), include])
}

/**
 * HOCON merges objects given twice (`a { x = 1 }` then `a.y = 2`); anything else is replaced.
 * @param at Where the key was written (`at.key` is the path of its first segment's container plus the key).
 */
export function setPath(
  target: HoconObject,
  keys: string[],
  value: HoconValue,
  at?: { line: number; column: number; prefix: string[] },
): void {
  let object = target
  const path = at ? [...at.prefix] : []
  const remember = (container: object, key: string) => {
    path.push(key)
    if (at) setLocation(container, key, { line: at.line, column: at.column, key: path.join('.') })
  }
  for (const key of keys.slice(0, -1)) {
    remember(object, key)
    const existing = Object.hasOwn(object, key) ? object[key] : undefined
    if (isHoconObject(existing)) {
      object = existing
    } else {
      const child: HoconObject = {}
      define(object, key, child)
      object = child
    }
  }
  const last = keys[keys.length - 1] as string
  const existing = Object.hasOwn(object, last) ? object[last] : undefined
  if (isHoconObject(existing) && isHoconObject(value)) {
    remember(object, last)
    for (const [key, inner] of Object.entries(value)) {
      setPath(existing, [key], inner)
      const where = locationOf(value, key)
      if (where) setLocation(existing, key, where)
    }
    for (const include of includesOf(value)) addInclude(existing, include)
  } else {
    remember(object, last)
    define(object, last, value)
  }
}

/** Plain assignment would turn a `__proto__` key into a prototype change. */
function define(object: HoconObject, key: string, value: HoconValue): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true })
}
