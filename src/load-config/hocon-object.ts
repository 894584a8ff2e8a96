/** What the HOCON parser builds: plain JSON-like values. */

export type HoconValue = string | number | boolean | null | HoconValue[] | HoconObject
export interface HoconObject {
  [key: string]: HoconValue
}

export function isHoconObject(value: HoconValue | undefined): value is HoconObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** HOCON merges objects given twice (`a { x = 1 }` then `a.y = 2`); anything else is replaced. */
export function setPath(target: HoconObject, keys: string[], value: HoconValue): void {
  let object = target
  for (const key of keys.slice(0, -1)) {
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
    for (const [key, inner] of Object.entries(value)) setPath(existing, [key], inner)
  } else {
    define(object, last, value)
  }
}

/** Plain assignment would turn a `__proto__` key into a prototype change. */
function define(object: HoconObject, key: string, value: HoconValue): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true })
}
