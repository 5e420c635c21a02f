// Types of ssekit for Node.js. They use the global Event, EventTarget,
// Headers and AbortSignal types (TypeScript's DOM library or @types/node).
// ssekit's EventSource is assignable to the DOM EventSource.

/** What `this` is in a handler: the members every EventSource has, so
 * that these handlers type-check where the DOM's are expected. */
export interface EventSourceLike extends EventTarget {
  readonly url: string
  readonly withCredentials: boolean
  readonly readyState: number
  close(): void
}

export interface ListenerOptions {
  capture?: boolean
  once?: boolean
  passive?: boolean
  signal?: AbortSignal
}

export interface ListenerObject<E> {
  handleEvent(event: E): void
}

/** A message of the stream, of any type, shaped as a MessageEvent whose
 * data is a string. */
export interface SSEMessageEvent extends Event {
  readonly data: string
  readonly lastEventId: string
  readonly origin: string
  readonly source: unknown
  readonly ports: readonly unknown[]
}

/** `open`: the response was 200 with text/event-stream. The extras are
 * optional in the type only, so that a DOM Event handler fits. */
export interface SSEOpenEvent extends Event {
  readonly status?: number
  readonly headers?: Headers
}

/** `error`: a disconnect (readyState CONNECTING: a reconnect follows) or
 * the end of the stream (readyState CLOSED). Every field is always set by
 * ssekit; they are optional in the type only, so that handlers stay
 * assignable to the DOM's onerror (which receives a plain Event). */
export interface SSEErrorEvent extends Event {
  /** The ssekit error, e.g. 'SSEKIT_E_HTTP_STATUS', 'SSEKIT_E_NETWORK'. */
  readonly code?: string
  /** The ssekit error number (negative). */
  readonly errno?: number
  readonly message?: string
  /** The HTTP status of the failing response, or 0. */
  readonly status?: number
  /** The failing response's headers (empty when there was no response). */
  readonly headers?: Headers
  /** The first bytes of the failing response's body, as UTF-8 text. */
  readonly body?: string
  readonly bodyBytes?: Uint8Array
  readonly willRetry?: boolean
  /** Milliseconds until the reconnect, when willRetry. */
  readonly retryMs?: number
  /** For SSEKIT_E_HOOK: what the headers function threw or rejected with,
   * or a TypeError naming a header it returned that ssekit refuses. */
  readonly error?: unknown
}

type Handler<E> = ((this: EventSourceLike, ev: E) => any) | null
// In listener position `this` is ssekit's EventSource itself.
type Listener<E> = ((this: EventSource, ev: E) => any) | ListenerObject<E>

export type HeadersValue = Record<string, string> | Headers | Iterable<readonly [string, string]>

export interface ReconnectOptions {
  /** The delay before the first reconnect, until a server `retry` sets
   * it (default 3000). */
  initialDelay?: number
  /** A floor no server `retry` goes below (default 250). */
  minDelay?: number
  /** The backoff's cap (default 30000). */
  maxDelay?: number
  /** A connection open this long counts as a success (default 60000). */
  resetAfter?: number
  /** The longest Retry-After honoured (default 600000). */
  maxRetryAfter?: number
  /** Failures in a row before giving up (default 0: never). */
  maxAttempts?: number
  /** Time since the first failure in a row before giving up (default 0). */
  maxRetryTime?: number
}

/** The WHATWG EventSourceInit plus ssekit's options; unknown keys are
 * ignored. Durations are milliseconds. */
export interface EventSourceInit {
  withCredentials?: boolean
  /** Request headers, or a function (possibly async) called before every
   * connection attempt that returns them (a fresh token). One that has not
   * answered within connectTimeout fails the attempt, which reconnects. */
  headers?: HeadersValue | (() => HeadersValue | Promise<HeadersValue>)
  method?: string
  /** Sent with every attempt; an object is sent as JSON. */
  body?: string | Uint8Array | ArrayBuffer | URLSearchParams | object
  /** Start from this last event ID (sent as Last-Event-ID). */
  lastEventId?: string
  /** Also send the last event ID as this query parameter. */
  lastEventIdParam?: string
  /** The backoff; false: the request is never sent again (any failure,
   * and the end of the body, end the stream). */
  reconnect?: ReconnectOptions | false
  /** Until a connection has opened, any failure ends the stream instead of
   * reconnecting (a wrong host or a 401 is reported at once). */
  failFirst?: boolean
  /** Every status but 200 fails the stream, as in browsers (EventSource's
   * default); false retries 5xx, 408 and 429 (connect()'s default). */
  strict?: boolean
  /** Connecting, the headers function's answer included (default 30000). */
  connectTimeout?: number
  /** No byte for this long drops the connection and reconnects. */
  readTimeout?: number
  /** No event (comments do not count) for this long reconnects. */
  eventTimeout?: number
  /** How much of a failing response's body to read (default 64 KiB, 5 s). */
  errorBody?: {maxBytes?: number; timeout?: number} | false
  /** The end of the body finishes the stream instead of reconnecting. */
  oneShot?: boolean
  /** An event with this data (true: "[DONE]") finishes the stream. */
  doneSentinel?: string | boolean
  /** At a clean end, dispatch an event that lacks its blank line. */
  dispatchUnterminated?: boolean
  /** Skip events whose id repeats one of the last 4096. */
  dedupe?: boolean
  maxLine?: number
  maxEvent?: number
  maxRedirects?: number
  /** Send the caller's headers on redirects to other origins too (never
   * Authorization, Cookie, Proxy-Authorization). */
  redirectHeaders?: boolean
  /** Allow a redirect from https to http. */
  insecureRedirects?: boolean
  /** Do not verify the server's certificate. */
  insecure?: boolean
  /** false: as insecure. */
  rejectUnauthorized?: boolean
  caFile?: string
  caPath?: string
  certFile?: string
  keyFile?: string
  /** A proxy URL; "" disables the environment's proxy variables. */
  proxy?: string
  cookieFile?: string
  /** Aborting it closes the stream. */
  signal?: AbortSignal | null
}

export interface EventSourceEventMap {
  open: SSEOpenEvent
  message: SSEMessageEvent
  error: SSEErrorEvent
}

export declare class EventSource extends EventTarget {
  constructor(url: string | URL, init?: EventSourceInit)
  static readonly CONNECTING: 0
  static readonly OPEN: 1
  static readonly CLOSED: 2
  readonly CONNECTING: 0
  readonly OPEN: 1
  readonly CLOSED: 2
  readonly url: string
  readonly withCredentials: boolean
  readonly readyState: number
  /** The last event ID seen (ssekit's addition). */
  readonly lastEventId: string
  onopen: Handler<SSEOpenEvent>
  onmessage: Handler<SSEMessageEvent>
  onerror: Handler<SSEErrorEvent>
  close(): void
  addEventListener<K extends keyof EventSourceEventMap>(type: K,
    listener: Listener<EventSourceEventMap[K]> | null, options?: boolean | ListenerOptions): void
  addEventListener(type: string, listener: Listener<SSEMessageEvent> | null,
    options?: boolean | ListenerOptions): void
  removeEventListener<K extends keyof EventSourceEventMap>(type: K,
    listener: Listener<EventSourceEventMap[K]> | null, options?: boolean | ListenerOptions): void
  removeEventListener(type: string, listener: Listener<SSEMessageEvent> | null,
    options?: boolean | ListenerOptions): void
  dispatchEvent(event: Event): boolean
}

/** One event yielded by connect(). */
export declare class ServerSentEvent {
  readonly type: string
  readonly data: string
  readonly lastEventId: string
  /** httpx-sse's names for type and lastEventId. */
  readonly event: string
  readonly id: string
  json<T = unknown>(): T
}

/** Why a connect() stream failed. */
export declare class SSEError extends Error {
  readonly code: string
  readonly errno: number
  readonly status: number
  readonly headers: Headers
  readonly body: string
}

export interface ConnectInit extends EventSourceInit {
  /** Called when a connection opens. */
  onOpen?: (response: {status: number; headers: Headers}) => void
  /** Called for every error, also those a reconnect follows. */
  onError?: (error: SSEError) => void
  /** Called with the text of every comment line (keep-alives). */
  onComment?: (text: string) => void
}

/** The stream as an async iterable; breaking out of a for await closes it. */
export declare class EventStream implements AsyncIterableIterator<ServerSentEvent> {
  readonly url: string
  readonly readyState: number
  readonly lastEventId: string
  next(): Promise<IteratorResult<ServerSentEvent, undefined>>
  return(): Promise<IteratorResult<ServerSentEvent, undefined>>
  close(): void
  [Symbol.asyncIterator](): EventStream
}

export declare function connect(url: string | URL, init?: ConnectInit): EventStream

export interface ParsedEvent {
  type: string
  data: string
  lastEventId: string
}

export interface ParserOptions {
  onEvent?: (event: ParsedEvent) => void
  onComment?: (text: string) => void
  onRetry?: (ms: number) => void
  maxLine?: number
  maxEvent?: number
}

/** A push parser for text/event-stream bytes: no I/O. */
export declare class Parser {
  constructor(options?: ParserOptions)
  feed(chunk: string | Uint8Array): void
  finish(): void
  reset(): void
  readonly lastEventId: string
}

export declare class ParseError extends Error {
  readonly code: string
  readonly errno: number
}

export declare function parse(input: string | Uint8Array): ParsedEvent[]

export interface EncodeFields {
  event?: string
  type?: string
  /** A string, or anything else as JSON; omitted: no data line. */
  data?: unknown
  id?: string
  retry?: number
}

/** One event as text/event-stream, with its blank line. */
export declare function encode(fields?: EncodeFields): string
/** A comment block (": text"), the keep-alive clients ignore. */
export declare function encodeComment(text?: string): string

export declare const version: string

/** The classes of the events EventSource dispatches, for instanceof. */
export declare const MessageEvent: {prototype: SSEMessageEvent}
export declare const OpenEvent: {prototype: SSEOpenEvent}
export declare const ErrorEvent: {prototype: SSEErrorEvent}

declare const ssekit: {
  EventSource: typeof EventSource
  connect: typeof connect
  EventStream: typeof EventStream
  ServerSentEvent: typeof ServerSentEvent
  SSEError: typeof SSEError
  Parser: typeof Parser
  ParseError: typeof ParseError
  parse: typeof parse
  encode: typeof encode
  encodeComment: typeof encodeComment
  version: string
}
export default ssekit
