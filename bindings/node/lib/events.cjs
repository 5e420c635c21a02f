// Event objects and the listener lists behind EventSource. Events look like
// the DOM's (MessageEvent: data, type, lastEventId, origin, target, ...),
// but are plain classes: constructing Node's MessageEvent per event would
// cost more than everything else on the delivery path. JS thread only.
'use strict'

const {inspect} = require('node:util')

const NONE = 0
const AT_TARGET = 2
const emptyPorts = Object.freeze([])

// Members every Event has; the per-event state is type, target and a few
// fields set by the subclasses' constructors.
const eventMembers = {
  NONE: {value: NONE},
  CAPTURING_PHASE: {value: 1},
  AT_TARGET: {value: AT_TARGET},
  BUBBLING_PHASE: {value: 3},
  bubbles: {value: false, writable: true},
  cancelable: {value: false, writable: true},
  composed: {value: false, writable: true},
  defaultPrevented: {value: false, writable: true},
  isTrusted: {value: true, writable: true},
  returnValue: {value: true, writable: true},
  cancelBubble: {value: false, writable: true},
  eventPhase: {get() { return this.target === null ? NONE : AT_TARGET }},
  currentTarget: {get() { return this.target }},
  srcElement: {get() { return this.target }},
  composedPath: {value() { return this.target === null ? [] : [this.target] }},
  preventDefault: {value() {}},
  stopPropagation: {value() {}},
  stopImmediatePropagation: {value() { this._stopped = true }},
  _stopped: {value: false, writable: true},
  initEvent: {value() {}},
}

// ownFields: what the constructor assigns. They are writable data
// properties of the prototype too, so that assigning them makes own
// properties instead of reaching Event's getters up the chain.
function defineEventMembers(proto, tag, fields, ownFields) {
  Object.defineProperties(proto, eventMembers)
  for (const f of ['type', 'target', 'timeStamp', ...ownFields]) {
    Object.defineProperty(proto, f, {value: f === 'target' ? null : undefined, writable: true})
  }
  Object.defineProperty(proto, Symbol.toStringTag, {value: tag, configurable: true})
  Object.defineProperty(proto, inspect.custom, {
    value(depth, options) {
      const shown = {type: this.type}
      for (const f of fields) shown[f] = this[f]
      return `${tag} ${inspect(shown, {...options, depth: options.depth == null ? null : options.depth - 1})}`
    },
  })
  // instanceof Event (and MessageEvent) holds where the runtime has them;
  // every member those prototypes define is shadowed above or by an own
  // field, so their brand-checking getters are never reached.
  return proto
}

// A message: one event of the stream, of any type.
class MessageEvent {
  constructor(type, data, lastEventId, origin, target, timeStamp) {
    this.type = type
    this.data = data
    this.lastEventId = lastEventId
    this.origin = origin
    this.target = target
    this.timeStamp = timeStamp
  }
}
defineEventMembers(MessageEvent.prototype, 'MessageEvent', ['data', 'lastEventId', 'origin'],
  ['data', 'lastEventId', 'origin'])
Object.defineProperties(MessageEvent.prototype, {
  source: {value: null, writable: true},
  ports: {value: emptyPorts, writable: true},
  initMessageEvent: {value() {}},
})

// `open`: the response was 200 with text/event-stream. Also carries the
// response's status and headers.
class OpenEvent {
  constructor(target, status, headers, timeStamp) {
    this.type = 'open'
    this.target = target
    this.status = status
    this.headers = headers
    this.timeStamp = timeStamp
  }
}
defineEventMembers(OpenEvent.prototype, 'Event', ['status'], ['status', 'headers'])

// `error`: a disconnect (readyState CONNECTING: a reconnect follows) or the
// end of the stream (CLOSED). code names the ssekit error
// ('SSEKIT_E_HTTP_STATUS', ...); for an HTTP error status, headers and body
// are the server's answer.
class ErrorEvent {
  constructor(target, detail, timeStamp) {
    this.type = 'error'
    this.target = target
    this.timeStamp = timeStamp
    this.code = detail.code
    this.errno = detail.errno
    this.message = detail.message
    this.status = detail.status
    this.headers = detail.headers
    this.body = detail.body
    this.willRetry = detail.willRetry
    this.retryMs = detail.retryMs
    this.error = detail.error
  }
}
defineEventMembers(ErrorEvent.prototype, 'ErrorEvent', ['code', 'message', 'status', 'willRetry'],
  ['code', 'errno', 'message', 'status', 'headers', 'body', 'willRetry', 'retryMs', 'error'])
Object.defineProperties(ErrorEvent.prototype, {
  filename: {value: '', writable: true},
  lineno: {value: 0, writable: true},
  colno: {value: 0, writable: true},
})

function chainTo(proto, Base) {
  if (typeof Base === 'function' && Base.prototype) Object.setPrototypeOf(proto, Base.prototype)
}
chainTo(MessageEvent.prototype, globalThis.MessageEvent)
chainTo(OpenEvent.prototype, globalThis.Event)
chainTo(ErrorEvent.prototype, globalThis.Event)

// A listener that throws must not stop the stream, nor the other
// listeners: its exception is reported as Node reports uncaught ones
// (process 'uncaughtException', else the process ends), as Node's own
// EventTarget does.
function report(err) {
  process.nextTick(() => {
    throw err
  })
}

function normalizeOptions(options) {
  if (typeof options === 'boolean') return {capture: options, once: false, signal: undefined}
  if (options === null || typeof options !== 'object') return {capture: false, once: false, signal: undefined}
  return {capture: Boolean(options.capture), once: Boolean(options.once), signal: options.signal}
}

// Listener lists per type. A list is never changed in place: adding or
// removing copies it, so a dispatch walks the list it started with (a
// listener added meanwhile waits for the next event, one removed is skipped
// through its `removed` flag), as the DOM requires.
class Listeners {
  constructor() {
    this.message = []
    this.byType = new Map()
  }

  get(type) {
    return type === 'message' ? this.message : this.byType.get(type)
  }

  set(type, list) {
    if (type === 'message') this.message = list
    else if (list.length === 0) this.byType.delete(type)
    else this.byType.set(type, list)
  }

  add(type, callback, options, owner) {
    if (callback === null || callback === undefined) return
    if (typeof callback !== 'function' && typeof callback !== 'object') {
      throw new TypeError('The "listener" argument must be a function or an object with handleEvent')
    }
    const {capture, once, signal} = normalizeOptions(options)
    if (signal !== undefined && signal !== null && signal.aborted) return
    const list = this.get(type) ?? []
    for (const l of list) {
      if (l.callback === callback && l.capture === capture) return
    }
    const entry = {callback, capture, once, removed: false, handler: false, signal: null, onAbort: null}
    this.set(type, [...list, entry])
    if (signal !== undefined && signal !== null) {
      entry.signal = signal
      entry.onAbort = () => this.removeEntry(type, entry)
      signal.addEventListener('abort', entry.onAbort, {once: true})
    }
    void owner
  }

  remove(type, callback, options) {
    const {capture} = normalizeOptions(options)
    const list = this.get(type)
    if (list === undefined) return
    for (const l of list) {
      if (!l.handler && l.callback === callback && l.capture === capture) {
        this.removeEntry(type, l)
        return
      }
    }
  }

  removeEntry(type, entry) {
    const list = this.get(type)
    if (list === undefined || !list.includes(entry)) return
    entry.removed = true
    if (entry.signal !== null) entry.signal.removeEventListener('abort', entry.onAbort)
    this.set(type, list.filter((l) => l !== entry))
  }

  // The event handler attribute (onmessage, ...): one entry whose callback
  // is replaced in place, so it keeps the position of its first assignment.
  setHandler(type, fn) {
    const list = this.get(type) ?? []
    const current = list.find((l) => l.handler)
    const callable = typeof fn === 'function' || (fn !== null && typeof fn === 'object')
    if (!callable) {
      if (current !== undefined) this.removeEntry(type, current)
      return null
    }
    if (current !== undefined) {
      current.callback = fn
    } else {
      this.set(type, [...list, {callback: fn, capture: false, once: false, removed: false, handler: true, signal: null, onAbort: null}])
    }
    return fn
  }

  getHandler(type) {
    const list = this.get(type)
    const current = list === undefined ? undefined : list.find((l) => l.handler)
    return current === undefined ? null : current.callback
  }

  // Calls each listener of the list with event. JS thread.
  dispatch(type, list, target, event) {
    for (let i = 0; i < list.length; i++) {
      const l = list[i]
      if (l.removed) continue
      if (l.once) this.removeEntry(type, l)
      const cb = l.callback
      try {
        if (typeof cb === 'function') cb.call(target, event)
        else if (typeof cb.handleEvent === 'function') cb.handleEvent(event)
      } catch (err) {
        report(err)
      }
      if (event._stopped === true) break
    }
  }
}

module.exports = {MessageEvent, OpenEvent, ErrorEvent, Listeners, report}
