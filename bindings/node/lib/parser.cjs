// The pure parser and the encoder, for servers, tests and bytes that did
// not come over ssekit's own client. No I/O: everything runs synchronously
// on the calling thread.
'use strict'

const native = require('./native.cjs')
const {errorName} = require('./runtime.cjs')

class ParseError extends Error {
  constructor(err) {
    super(err.message)
    this.name = 'ParseError'
    this.errno = err.errno
    this.code = errorName(err.errno)
  }
}

// new Parser({onEvent, onComment, onRetry, maxLine, maxEvent}): feed it
// text/event-stream bytes (Uint8Array, Buffer) or text in any chunks; the
// callbacks run from inside feed() and finish(). onEvent gets
// {type, data, lastEventId}. A limit exceeded, or a callback that throws,
// makes feed() throw; a ParseError sticks until reset().
class Parser {
  constructor(options = {}) {
    const {onEvent, onComment, onRetry, maxLine, maxEvent} = options
    const ev = typeof onEvent === 'function'
      ? (type, data, lastEventId) => onEvent({type, data, lastEventId})
      : undefined
    this._p = new native.NativeParser(ev, onComment, onRetry, maxLine, maxEvent)
    // The native parser holds its callbacks weakly: they live here, so a
    // callback that refers to this parser makes a cycle the GC can collect.
    this._callbacks = [ev, onComment, onRetry]
  }

  feed(chunk) {
    this._call(() => this._p.feed(chunk))
  }

  // The end of the stream: an event without its blank line is discarded.
  finish() {
    this._call(() => this._p.finish())
  }

  reset() {
    this._p.reset()
  }

  get lastEventId() {
    return this._p.lastEventId()
  }

  _call(f) {
    try {
      f()
    } catch (err) {
      if (err !== null && typeof err === 'object' && typeof err.errno === 'number' && !(err instanceof ParseError) && err.constructor === Error) {
        throw new ParseError(err)
      }
      throw err
    }
  }
}

// All the events of a complete stream, as {type, data, lastEventId}.
function parse(input) {
  const events = []
  const p = new Parser({onEvent: (e) => events.push(e)})
  p.feed(input)
  p.finish()
  return events
}

// encode({event | type, data, id, retry}): one event, with its blank line.
// data: string (its lines become data lines) or, if not a string,
// JSON.stringify(data); omitted: no data line. id '' resets the client's
// last event ID.
function encode(fields = {}) {
  let data = fields.data
  if (data !== undefined && data !== null && typeof data !== 'string') data = JSON.stringify(data)
  const type = fields.event ?? fields.type
  const retry = typeof fields.retry === 'number' && fields.retry >= 0 ? fields.retry : -1
  return native.encodeEvent(type ?? null, fields.id ?? null, data ?? null, retry)
}

// A comment block (": text" lines): a keep-alive clients ignore.
function encodeComment(text = '') {
  return native.encodeComment(String(text))
}

module.exports = {Parser, ParseError, parse, encode, encodeComment}
