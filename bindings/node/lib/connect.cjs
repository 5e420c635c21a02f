// connect(url, init): the stream as an async iterable of events,
//   for await (const ev of connect(url, init)) { ... }
// Reconnects are transparent; the loop ends when the stream finishes (a
// one-shot stream's end, a sentinel) and throws an SSEError when it fails.
// Breaking out of the loop closes the stream. JS thread.
'use strict'

const runtime = require('./runtime.cjs')
const {report} = require('./events.cjs')
const {parseUrl, nativeOptions} = require('./options.cjs')

// One event of the stream.
class ServerSentEvent {
  constructor(type, data, lastEventId) {
    this.type = type
    this.data = data
    this.lastEventId = lastEventId
  }

  // httpx-sse's names.
  get event() { return this.type }
  get id() { return this.lastEventId }

  json() { return JSON.parse(this.data) }
}

// Why a stream failed: code names the ssekit error, and for an HTTP error
// status, status, headers and body are the server's answer.
class SSEError extends Error {
  constructor(detail) {
    super(detail.message, detail.error === undefined ? undefined : {cause: detail.error})
    this.name = 'SSEError'
    this.code = detail.code
    this.errno = detail.errno
    this.status = detail.status
    this.headers = detail.headers
    this.body = detail.body
  }
}

// A consumer that falls this far behind pauses the stream (TCP then slows
// the server) until it has caught up.
const HIGH_WATER = 65536

const DONE = Object.freeze({value: undefined, done: true})

class EventStream {
  constructor(url, init) {
    const parsed = parseUrl(url)
    const o = nativeOptions(init, {strict: false})
    this.url = parsed.href
    this._buf = []
    this._head = 0
    this._tail = 0
    this._waiter = null
    this._reject = null
    this._queued = []  // further next() calls made before the first settled
    this._failure = null
    this._ended = false
    this._paused = false
    this._flushQueued = false
    this._type = 'message'
    this._lastEventId = o.lastEventId ?? ''
    this._headersFn = typeof init?.headers === 'function' ? init.headers : undefined
    this._headersError = undefined
    this._headersCall = 0
    this._readyState = 0
    this._onOpen = typeof init?.onOpen === 'function' ? init.onOpen : null
    this._onError = typeof init?.onError === 'function' ? init.onError : null
    this._onComment = typeof init?.onComment === 'function' ? init.onComment : null
    this._id = 0
    this._signal = undefined
    this._onAbort = null
    this._id = runtime.open(this.url, o, this, init?.signal)
    if (this._id === 0) {
      // Aborted already: the loop ends at once.
      this._ended = true
      this._readyState = 2
    }
  }

  get readyState() { return this._readyState }
  get lastEventId() { return this._lastEventId }

  [Symbol.asyncIterator]() { return this }

  next() {
    if (this._head < this._tail) {
      const value = this._take()
      return Promise.resolve({value, done: false})
    }
    if (this._failure !== null) {
      const err = this._failure
      this._failure = null
      this._ended = true
      return Promise.reject(err)
    }
    if (this._ended) return Promise.resolve(DONE)
    if (this._waiter !== null) {
      // A next() before the previous one settled waits for its turn.
      return new Promise((resolve, reject) => this._queued.push([resolve, reject]))
    }
    return new Promise((resolve, reject) => {
      this._waiter = resolve
      this._reject = reject
    })
  }

  // The buffer is a reused array: head and tail move until it is empty,
  // then both start again at 0, so it stops growing once large enough.
  _take() {
    const buf = this._buf
    const value = buf[this._head]
    buf[this._head++] = undefined
    if (this._head === this._tail) {
      this._head = 0
      this._tail = 0
      if (this._paused) this._resume()
    }
    return value
  }

  return() {
    this.close()
    return Promise.resolve(DONE)
  }

  // Stops the stream; a pending or later next() ends the loop.
  close() {
    this._readyState = 2
    this._ended = true
    this._buf = []
    this._head = 0
    this._tail = 0
    this._detach()
    this._flush()
  }

  _detach() { runtime.detach(this) }

  _resume() {
    this._paused = false
    if (this._id !== 0) runtime.native.resume(this._id)
  }

  // The sink interface (runtime.cjs), JS thread.
  _event(type, data, lastEventId) {
    // _id is 0 once close() was called, maybe from this batch.
    if (this._id === 0) return
    this._buf[this._tail++] = new ServerSentEvent(type, data, lastEventId)
    if (this._waiter !== null) {
      if (!this._flushQueued) {
        this._flushQueued = true
        runtime.flushing.add(this)
      }
    } else if (!this._paused && this._tail - this._head > HIGH_WATER && this._id !== 0) {
      this._paused = true
      runtime.native.pause(this._id)
    }
  }

  _flush() {
    this._flushQueued = false
    for (;;) {
      const resolve = this._waiter
      if (resolve === null) return
      if (this._head < this._tail) {
        this._waiter = null
        this._reject = null
        resolve({value: this._take(), done: false})
      } else if (this._failure !== null) {
        const reject = this._reject
        const err = this._failure
        this._failure = null
        this._ended = true
        this._waiter = null
        this._reject = null
        reject(err)
      } else if (this._ended) {
        this._waiter = null
        this._reject = null
        resolve(DONE)
      } else {
        return
      }
      const queued = this._queued.shift()
      if (queued === undefined) return
      this._waiter = queued[0]
      this._reject = queued[1]
    }
  }

  // Comments (keep-alives), for callers that watch the connection's health.
  _comment(text) {
    if (this._onComment === null || this._id === 0) return
    try {
      this._onComment(text)
    } catch (err) {
      report(err)
    }
  }

  _retry() {}
  _state(s) { if (this._id !== 0) this._readyState = s }

  _open(status, headers) {
    if (this._id === 0) return
    this._readyState = 1
    if (this._onOpen === null) return
    try {
      this._onOpen({status, headers})
    } catch (err) {
      report(err)
    }
  }

  _error(detail) {
    if (this._id === 0) return
    runtime.explainHookError(this, detail)
    if (this._onError !== null) {
      try {
        this._onError(new SSEError(detail))
      } catch (err) {
        report(err)
      }
    }
    // close() from inside onError ends the loop without an error, and
    // the reconnect waits for the ack, so it never happens then.
    if (this._id === 0) return
    if (detail.willRetry) runtime.native.ackError(this._id)
    else this._failure = new SSEError(detail)
  }

  _closed() {
    if (this._id === 0) return
    this._readyState = 2
    this._ended = true
    this._id = 0
    this._detach()
    runtime.flushing.add(this)
  }
}

function connect(url, init) {
  return new EventStream(url, init)
}

module.exports = {connect, EventStream, ServerSentEvent, SSEError}
