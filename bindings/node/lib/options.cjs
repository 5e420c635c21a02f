// Turns the init dictionary of EventSource and connect() into the addon's
// options. Unknown keys are ignored, as the WHATWG EventSourceInit requires.
// Durations are milliseconds. JS thread.
'use strict'

const {headersToFlat} = require('./runtime.cjs')

function parseUrl(url) {
  let parsed
  try {
    parsed = new URL(url instanceof URL ? url.href : String(url))
  } catch (err) {
    // There is no document to resolve a relative URL against.
    throw new DOMException(`Invalid URL: ${String(url)} (${err.message})`, 'SyntaxError')
  }
  return parsed
}

const durations = [
  'connectTimeout', 'readTimeout', 'eventTimeout',
]
const reconnectKeys = {
  initialDelay: 'initialDelay', minDelay: 'minDelay', maxDelay: 'maxDelay',
  resetAfter: 'resetAfter', maxRetryAfter: 'maxRetryAfter', maxAttempts: 'maxAttempts',
  maxRetryTime: 'maxRetryTime',
}
const flags = ['dispatchUnterminated', 'dedupe', 'redirectHeaders', 'insecureRedirects']
const strings = ['lastEventIdParam', 'caFile', 'caPath', 'proxy', 'cookieFile', 'certFile', 'keyFile']
const sizes = ['maxLine', 'maxEvent', 'maxRedirects']

// V8's longest string is 2^29 - 24 characters, and an event's type, data
// and id travel in one: the limits keep it below that (0, "no limit",
// means these caps).
const MAX_LIMIT = {maxEvent: 256 * 1024 * 1024, maxLine: 64 * 1024 * 1024}

function number(name, v) {
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) {
    throw new TypeError(`ssekit: ${name} must be a number >= 0, got ${String(v)}`)
  }
  return v
}

// defaults: {strict} of the caller (EventSource is strict by default, as
// browsers are; connect() retries 5xx, 408 and 429).
function nativeOptions(init, defaults) {
  const o = {strict: defaults.strict}
  if (init === undefined || init === null) return o
  if (typeof init !== 'object') throw new TypeError('ssekit: the init argument must be an object')
  if (init.method !== undefined) o.method = String(init.method).toUpperCase()
  if (init.body !== undefined && init.body !== null) {
    const b = init.body
    if (typeof b === 'string' || Buffer.isBuffer(b)) o.body = b
    else if (ArrayBuffer.isView(b)) o.body = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
    else if (b instanceof ArrayBuffer) o.body = Buffer.from(b)
    else if (b instanceof URLSearchParams) o.body = b.toString()
    else o.body = JSON.stringify(b)
  }
  if (typeof init.headers === 'function') {
    o.headersFn = true
  } else if (init.headers !== undefined && init.headers !== null) {
    o.headers = headersToFlat(init.headers)
  }
  if (init.lastEventId !== undefined && init.lastEventId !== null) o.lastEventId = String(init.lastEventId)
  const r = init.reconnect
  if (r === false) {
    // The request is never sent again (an LLM answer to a POST).
    o.reconnect = false
  } else if (r !== undefined && r !== null && typeof r === 'object') {
    for (const [k, nk] of Object.entries(reconnectKeys)) {
      if (r[k] !== undefined) o[nk] = number(`reconnect.${k}`, r[k])
    }
  }
  for (const k of durations) if (init[k] !== undefined) o[k] = number(k, init[k])
  for (const k of sizes) if (init[k] !== undefined) o[k] = number(k, init[k])
  for (const k of Object.keys(MAX_LIMIT)) {
    if (o[k] !== undefined && (o[k] === 0 || o[k] > MAX_LIMIT[k])) o[k] = MAX_LIMIT[k]
  }
  for (const k of flags) if (init[k] !== undefined) o[k] = Boolean(init[k])
  for (const k of strings) if (init[k] !== undefined && init[k] !== null) o[k] = String(init[k])
  if (init.strict !== undefined) o.strict = Boolean(init.strict)
  if (init.oneShot !== undefined) o.oneShot = Boolean(init.oneShot)
  if (init.failFirst !== undefined) o.failFirst = Boolean(init.failFirst)
  if (init.doneSentinel !== undefined && init.doneSentinel !== null && init.doneSentinel !== false) {
    o.doneSentinel = init.doneSentinel === true ? '[DONE]' : String(init.doneSentinel)
  }
  if (init.rejectUnauthorized === false || init.insecure === true) o.insecure = true
  if (init.errorBody !== undefined) {
    const e = init.errorBody
    if (e === false) o.errorBodyMax = 0
    else if (typeof e === 'object' && e !== null) {
      if (e.maxBytes !== undefined) o.errorBodyMax = number('errorBody.maxBytes', e.maxBytes)
      if (e.timeout !== undefined) o.errorBodyTimeout = number('errorBody.timeout', e.timeout)
    }
  }
  return o
}

module.exports = {parseUrl, nativeOptions}
