/**
 * axios and undici, loaded the way that lets the delivery thread start soonest.
 *
 * Imported as ES modules they cost the thread ~190 ms before its first request (issue 14): axios' ESM
 * build is some 80 files, each resolved and linked on its own. Through `require` (the packages' own
 * CommonJS entries: axios' one-file bundle, undici's index) both load in ~110 ms. The types are the
 * packages' own.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** axios' default export (`create`, `AxiosError`). */
export const axios = require('axios') as typeof import('axios').default
const undici = require('undici') as typeof import('undici')
/** undici's `Pool`. */
export const Pool = undici.Pool
/** undici's `buildConnector`. */
export const buildConnector = undici.buildConnector
