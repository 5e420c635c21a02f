// The ES module entry point: the same objects as the CommonJS one (one
// addon instance per environment, whichever way it is loaded).
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)
const ssekit = require('./index.cjs')

export const {
  EventSource, connect, EventStream, ServerSentEvent, SSEError, Parser, ParseError, parse,
  encode, encodeComment, MessageEvent, ErrorEvent, OpenEvent, version,
} = ssekit
export default ssekit
