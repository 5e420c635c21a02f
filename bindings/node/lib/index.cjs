// ssekit for Node.js: EventSource, connect() for async iteration, and the
// pure Parser and encoder. See bindings/node/README.md. Everything here runs
// on the JS thread of the environment (main thread or worker) using it.
'use strict'

const {EventSource} = require('./eventsource.cjs')
const {connect, EventStream, ServerSentEvent, SSEError} = require('./connect.cjs')
const {Parser, ParseError, parse, encode, encodeComment} = require('./parser.cjs')
const {MessageEvent, ErrorEvent, OpenEvent} = require('./events.cjs')
const native = require('./native.cjs')

module.exports = {
  EventSource,
  connect,
  EventStream,
  ServerSentEvent,
  SSEError,
  Parser,
  ParseError,
  parse,
  encode,
  encodeComment,
  MessageEvent,
  ErrorEvent,
  OpenEvent,
  version: native.version,
}
