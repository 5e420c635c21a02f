// EventSource, as the WHATWG HTML Standard defines it ("The EventSource
// interface"), on an ssekit stream, with the extras of the init dictionary
// (see options.cjs). Every method runs on the JS thread; events come from
// runtime.cjs, once per batch.
'use strict'

const {MessageEvent, OpenEvent, ErrorEvent, Listeners} = require('./events.cjs')
const runtime = require('./runtime.cjs')
const {parseUrl, nativeOptions} = require('./options.cjs')
const {performance} = require('node:perf_hooks')

const CONNECTING = 0
const OPEN = 1
const CLOSED = 2

const Base = typeof globalThis.EventTarget === 'function' ? globalThis.EventTarget : Object

class EventSource extends Base {
  // new EventSource(url, init): init is EventSourceInit ({withCredentials})
  // plus ssekit's options; unknown keys are ignored.
  constructor(url, init = undefined) {
    super()
    if (arguments.length < 1) throw new TypeError('EventSource: the url argument is required')
    const parsed = parseUrl(url)
    const o = nativeOptions(init, {strict: true})
    this._url = parsed.href
    this._origin = parsed.origin
    this._withCredentials = Boolean(init?.withCredentials)
    this._readyState = CONNECTING
    this._listeners = new Listeners()
    this._type = 'message'
    this._lastEventId = o.lastEventId ?? ''
    this._headersFn = typeof init?.headers === 'function' ? init.headers : undefined
    this._headersError = undefined
    this._headersCall = 0
    this._id = 0
    this._signal = undefined
    this._onAbort = null
    this._id = runtime.open(this._url, o, this, init?.signal)
    if (this._id === 0) this._readyState = CLOSED  // aborted already
  }

  get url() { return this._url }
  get withCredentials() { return this._withCredentials }
  get readyState() { return this._readyState }
  // ssekit's additions: the last event ID seen, and the URL reconnects go
  // to (a permanent redirect on the same origin changes it).
  get lastEventId() { return this._lastEventId }

  get onopen() { return this._listeners.getHandler('open') }
  set onopen(fn) { this._listeners.setHandler('open', fn) }
  get onmessage() { return this._listeners.getHandler('message') }
  set onmessage(fn) { this._listeners.setHandler('message', fn) }
  get onerror() { return this._listeners.getHandler('error') }
  set onerror(fn) { this._listeners.setHandler('error', fn) }

  addEventListener(type, listener, options) {
    this._listeners.add(String(type), listener, options, this)
  }

  removeEventListener(type, listener, options) {
    this._listeners.remove(String(type), listener, options)
  }

  dispatchEvent(event) {
    if (event === null || typeof event !== 'object' || typeof event.type !== 'string') {
      throw new TypeError('dispatchEvent: the argument must be an Event')
    }
    const list = this._listeners.get(event.type)
    if (list !== undefined && list.length > 0) this._listeners.dispatch(event.type, list, this, event)
    return !event.defaultPrevented
  }

  // Stops the stream for good: no event is dispatched after this returns,
  // also when called from a listener (onerror included).
  close() {
    if (this._readyState === CLOSED && this._id === 0) return
    this._readyState = CLOSED
    this._detach()
  }

  _detach() { runtime.detach(this) }

  // The sink interface (runtime.cjs), JS thread.
  _event(type, data, lastEventId) {
    // _id is 0 once close() was called, maybe by a listener of this batch.
    if (this._id === 0) return
    const list = type === 'message' ? this._listeners.message : this._listeners.byType.get(type)
    if (list === undefined || list.length === 0) return
    const ev = new MessageEvent(type, data, lastEventId, this._origin, this, performance.now())
    this._listeners.dispatch(type, list, this, ev)
  }

  _comment() {}
  _retry() {}

  _state(state) {
    if (this._id !== 0) this._readyState = state
  }

  _open(status, headers) {
    if (this._id === 0) return
    this._readyState = OPEN
    const list = this._listeners.get('open')
    if (list === undefined || list.length === 0) return
    this._listeners.dispatch('open', list, this, new OpenEvent(this, status, headers, performance.now()))
  }

  _error(detail) {
    if (this._id === 0) return
    // The readyState the error leaves: CONNECTING when a reconnect follows.
    this._readyState = detail.willRetry ? CONNECTING : CLOSED
    runtime.explainHookError(this, detail)
    const list = this._listeners.get('error')
    if (list !== undefined && list.length !== 0) {
      this._listeners.dispatch('error', list, this, new ErrorEvent(this, detail, performance.now()))
    }
    // The reconnect waits for this, so a close() above prevents it.
    if (detail.willRetry && this._id !== 0) runtime.native.ackError(this._id)
  }

  _closed() {
    if (this._id === 0) return
    this._readyState = CLOSED
    this._id = 0
    this._detach()
  }
}

for (const [name, value] of Object.entries({CONNECTING, OPEN, CLOSED})) {
  Object.defineProperty(EventSource, name, {value, enumerable: true})
  Object.defineProperty(EventSource.prototype, name, {value, enumerable: true})
}
Object.defineProperty(EventSource.prototype, Symbol.toStringTag, {value: 'EventSource', configurable: true})

module.exports = {EventSource}
