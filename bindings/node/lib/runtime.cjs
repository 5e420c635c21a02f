// The delivery path: the addon calls onBatch once per batch taken from this
// environment's queue, on the JS thread, and onBatch hands each item to the
// sink (an EventSource or a connect() iterator) of the stream it came from.
// Also runs the headers functions the streams' headers hooks ask for.
'use strict'

const native = require('./native.cjs')

const KIND_OPEN = 0
const KIND_EVENT = 1
const KIND_COMMENT = 2
const KIND_RETRY = 3
const KIND_ERROR = 4
const KIND_STATE = 5
const KIND_CLOSED = 6
const RECORD = 8
const NEXT_CHUNK = 16

const errorNames = {
  [-1]: 'SSEKIT_E_INVALID', [-2]: 'SSEKIT_E_NOMEM', [-3]: 'SSEKIT_E_LINE_TOO_LONG',
  [-4]: 'SSEKIT_E_EVENT_TOO_LARGE', [-5]: 'SSEKIT_E_CALLBACK', [-6]: 'SSEKIT_E_STATE',
  [-7]: 'SSEKIT_E_BUFFER_TOO_SMALL', [-8]: 'SSEKIT_E_INTERNAL', [-9]: 'SSEKIT_E_HTTP_STATUS',
  [-10]: 'SSEKIT_E_CONTENT_TYPE', [-11]: 'SSEKIT_E_NETWORK', [-12]: 'SSEKIT_E_CONNECT_TIMEOUT',
  [-13]: 'SSEKIT_E_READ_TIMEOUT', [-14]: 'SSEKIT_E_TLS', [-15]: 'SSEKIT_E_TOO_MANY_REDIRECTS',
  [-16]: 'SSEKIT_E_STREAM_ENDED', [-17]: 'SSEKIT_E_RETRIES_EXHAUSTED', [-18]: 'SSEKIT_E_CLOSED',
  [-19]: 'SSEKIT_E_HOOK', [-20]: 'SSEKIT_E_REQUEST', [-21]: 'SSEKIT_E_REDIRECT',
  [-22]: 'SSEKIT_E_RESPONSE_TOO_LARGE', [-23]: 'SSEKIT_E_EVENT_TIMEOUT',
}

function errorName(errno) {
  return errorNames[errno] ?? `SSEKIT_E_${-errno}`
}

function toHeaders(flat) {
  const h = new Headers()
  if (flat === undefined) return h
  for (let i = 0; i + 1 < flat.length; i += 2) {
    try {
      h.append(flat[i], flat[i + 1])
    } catch {
      // A header a server may send but Headers refuses: left out.
    }
  }
  return h
}

// Stream id -> sink, for streams whose CLOSED item has not arrived and that
// were not closed from JavaScript. Holding the sink here is what keeps an
// open, unreferenced EventSource alive, as an open socket would.
const sinks = new Map()

// texts: the batch's strings in chunks; a record whose kind has
// NEXT_CHUNK set reads from the next one.
function onBatch(count, rec, texts, extras) {
  let lastStream = -1
  let sink
  let chunk = 0
  let text = texts[0]
  for (let i = 0, o = 0; i < count; i++, o += RECORD) {
    let kind = rec[o]
    if (kind >= NEXT_CHUNK) {
      text = texts[++chunk]
      kind -= NEXT_CHUNK
    }
    const id = rec[o + 1]
    if (id !== lastStream) {
      lastStream = id
      sink = sinks.get(id)
    }
    if (sink === undefined) continue
    switch (kind) {
      case KIND_EVENT: {
        const data = text.slice(rec[o + 2], rec[o + 3])
        const type = rec[o + 4] === -1 ? sink._type : (sink._type = text.slice(rec[o + 4], rec[o + 5]))
        const lastId = rec[o + 6] === -1 ? sink._lastEventId : (sink._lastEventId = text.slice(rec[o + 6], rec[o + 7]))
        sink._event(type, data, lastId)
        break
      }
      case KIND_COMMENT:
        sink._comment(text.slice(rec[o + 2], rec[o + 3]))
        break
      case KIND_RETRY:
        sink._retry(rec[o + 2])
        break
      case KIND_STATE:
        sink._state(rec[o + 2])
        break
      case KIND_OPEN:
        sink._open(rec[o + 2], toHeaders(extras[rec[o + 7]]))
        break
      case KIND_ERROR: {
        const [message, headers, body] = extras[rec[o + 7]]
        const errno = rec[o + 2]
        sink._error({
          code: errorName(errno),
          errno,
          message,
          status: rec[o + 3],
          headers: toHeaders(headers),
          body: body === undefined ? '' : body.toString('utf8'),
          bodyBytes: body,
          willRetry: rec[o + 4] !== 0,
          retryMs: rec[o + 5],
          error: undefined,
        })
        break
      }
      case KIND_CLOSED:
        sinks.delete(id)
        sink._closed(rec[o + 2])
        break
      default:
        break
    }
  }
  // Once per batch: iterators wake their reader here, not per event.
  for (const s of flushing) s._flush()
  flushing.clear()
}

// Sinks that want a call at the end of the batch (set by their _event).
const flushing = new Set()

function headersToFlat(h) {
  const flat = []
  if (h === null || h === undefined) return flat
  const entries = typeof h.entries === 'function' && !Array.isArray(h) ? h.entries()
    : Array.isArray(h) ? h : Object.entries(h)
  for (const [name, value] of entries) {
    if (value === undefined || value === null) continue
    flat.push(String(name), String(value))
  }
  return flat
}

// A stream's headers hook deferred: call its headers function (it may
// return a Promise) and answer. Only the latest call answers: one still
// pending when the hook asks again was given up on (it outlasted the
// connect timeout, or the stream restarted), and its late answer must not
// be taken for the new attempt's.
function onHeaders(id) {
  const sink = sinks.get(id)
  if (sink === undefined || typeof sink._headersFn !== 'function') {
    native.resumeHeaders(id, false)
    return
  }
  const call = sink._headersCall = (sink._headersCall ?? 0) + 1
  const refuse = (err) => {
    sink._headersError = err
    native.resumeHeaders(id, false)
  }
  let result
  try {
    result = sink._headersFn()
  } catch (err) {
    refuse(err)
    return
  }
  Promise.resolve(result).then(
    (h) => {
      if (sink._headersCall !== call) return
      let flat
      try {
        flat = headersToFlat(h)
      } catch (err) {
        refuse(err)
        return
      }
      const refused = native.resumeHeaders(id, true, flat)
      if (refused !== undefined) {
        sink._headersError = new TypeError(`ssekit: invalid header from the headers function: ${refused}`)
      }
    },
    (err) => {
      if (sink._headersCall === call) refuse(err)
    })
}

native.init(onBatch, onHeaders)
// process.exit() does not tear the environment down: stop the streams
// first, so nothing of ours runs while the process ends.
process.once('exit', () => native.shutdown())

// Starts a stream for sink and ties it to signal (an AbortSignal, or
// undefined); returns its id, 0 if signal was aborted already. Nothing is
// left registered when it throws. JS thread.
function open(url, nativeOptions, sink, signal) {
  if (signal !== undefined && signal !== null && signal.aborted) return 0
  const id = native.create(url, nativeOptions)
  sinks.set(id, sink)
  if (signal !== undefined && signal !== null) {
    sink._signal = signal
    sink._onAbort = () => sink.close()
    signal.addEventListener('abort', sink._onAbort, {once: true})
  }
  return id
}

// An error the headers function caused (it threw, rejected or returned a
// header ssekit refuses) explains the SSEKIT_E_HOOK failure it led to.
function explainHookError(sink, detail) {
  if (detail.errno !== -19 || sink._headersError === undefined) return
  const err = sink._headersError
  sink._headersError = undefined
  detail.error = err
  detail.message = `${detail.message}: ${err?.message ?? String(err)}`
}

// Stops a stream; its sink gets nothing more. JS thread.
function close(id) {
  if (!sinks.delete(id)) return
  native.close(id)
}

// A sink (EventSource or connect()'s stream) lets go of its native stream
// and of its AbortSignal.
function detach(sink) {
  if (sink._id !== 0) {
    close(sink._id)
    sink._id = 0
  }
  if (sink._onAbort !== null) {
    sink._signal.removeEventListener('abort', sink._onAbort)
    sink._onAbort = null
  }
}

module.exports = {open, close, detach, explainHookError, flushing, headersToFlat, errorName, native}
