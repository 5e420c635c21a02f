/*
 * ssekit: a Server-Sent Events (text/event-stream) library.
 *
 * This header is the whole public C API and its reference manual.
 *
 * Conventions
 * - Objects are opaque handles: ssekit_<object>_new() / ssekit_<object>_free().
 *   Free functions accept NULL. The layout of a handle is never part of the ABI.
 * - Functions that can fail return an int: SSEKIT_OK (0) or a negative
 *   ssekit_error. ssekit_strerror() names every code. Codes are append-only:
 *   a code, once published, keeps its number and meaning forever.
 * - Strings passed in are (pointer, length) pairs and are copied: the caller
 *   keeps ownership and may free them as soon as the call returns.
 * - Strings handed to a callback are (pointer, length) pairs that are valid
 *   only until the callback returns; the pointer is never NULL, even for an
 *   empty string. They are not NUL-terminated and may hold NUL bytes. They
 *   are always valid UTF-8 (the parser decodes invalid input to U+FFFD, as
 *   the WHATWG standard requires).
 * - Callbacks get the handle's userdata as their last argument.
 * - Threads: a parser handle is used by one thread at a time; distinct
 *   parsers are independent. Functions without a handle argument are
 *   thread-safe. Each function's comment says which threads may call it
 *   and when (for streams and loops, see "Threads" in the client section).
 *
 * ABI policy (modelled on libcurl's)
 * - In 0.x, a minor release may add functions, enum values, error codes,
 *   and fields at the end of structs the library allocates (callers never
 *   allocate or copy them, so their size is not part of the ABI); callers
 *   must expect values they do not know. A patch release adds nothing.
 * - Nothing published is removed, renumbered or changes meaning. From 0.2
 *   on, every addition is append-only.
 * - Each release's new functions get their own symbol-version node
 *   (SSEKIT_0 for 0.1, then SSEKIT_0.2, ...), so that a program using a
 *   newer function fails to load on an older library, naming the missing
 *   version, instead of misbehaving.
 * - Bindings and applications check at load that ssekit_version_num() is
 *   at least the SSEKIT_VERSION_NUM they were built against: an older
 *   library does not know the newer enum values and fields, and a binding
 *   that uses dlopen() gets no symbol-version check.
 * - A new SONAME (libssekit.so.1) would mean an incompatible ABI; as with
 *   libcurl, that is done as rarely as possible.
 */
#ifndef SSEKIT_H
#define SSEKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SSEKIT_VERSION_MAJOR 0
#define SSEKIT_VERSION_MINOR 2
#define SSEKIT_VERSION_PATCH 0
#define SSEKIT_VERSION_STRING "0.2.0"
/* 0xMMmmpp, so that SSEKIT_VERSION_NUM >= 0x000200 tests for 0.2.0 or later. */
#define SSEKIT_VERSION_NUM                                                  \
  ((SSEKIT_VERSION_MAJOR << 16) | (SSEKIT_VERSION_MINOR << 8) |            \
   SSEKIT_VERSION_PATCH)

#if defined(SSEKIT_BUILDING_SHARED) && defined(__GNUC__)
#define SSEKIT_EXTERN __attribute__((visibility("default")))
#else
#define SSEKIT_EXTERN
#endif

/* Error codes. Append-only: never renumbered, never removed. */
typedef enum ssekit_error {
  SSEKIT_OK = 0,
  /* An argument was NULL, out of range or malformed (for the encoder: a
   * field that cannot be written, such as an id holding a line break). */
  SSEKIT_E_INVALID = -1,
  /* Memory could not be allocated. */
  SSEKIT_E_NOMEM = -2,
  /* A line of the stream is longer than the parser's maximum line length. */
  SSEKIT_E_LINE_TOO_LONG = -3,
  /* An event's data is larger than the parser's maximum event size. */
  SSEKIT_E_EVENT_TOO_LARGE = -4,
  /* A callback returned non-zero, so the parser stopped where it was. */
  SSEKIT_E_CALLBACK = -5,
  /* The call is not allowed in the handle's current state (for example
   * feeding a parser that stopped on an error and was not reset). */
  SSEKIT_E_STATE = -6,
  /* The output buffer is too small; the size needed was stored. */
  SSEKIT_E_BUFFER_TOO_SMALL = -7,
  /* A bug in ssekit: an unexpected internal failure. Please report it. */
  SSEKIT_E_INTERNAL = -8,
  /* The server answered with a status other than 200 (see the status
   * passed with the error). */
  SSEKIT_E_HTTP_STATUS = -9,
  /* The response's Content-Type is not text/event-stream. */
  SSEKIT_E_CONTENT_TYPE = -10,
  /* The connection failed or broke: DNS, refused, reset, truncated. */
  SSEKIT_E_NETWORK = -11,
  /* Connecting took longer than the connect timeout. */
  SSEKIT_E_CONNECT_TIMEOUT = -12,
  /* No byte arrived for longer than the read timeout. */
  SSEKIT_E_READ_TIMEOUT = -13,
  /* TLS failed: handshake, certificate verification, client certificate. */
  SSEKIT_E_TLS = -14,
  /* More redirects than the redirect limit. */
  SSEKIT_E_TOO_MANY_REDIRECTS = -15,
  /* The server ended the response body (the stream reconnects, or
   * finishes, as configured). */
  SSEKIT_E_STREAM_ENDED = -16,
  /* The maximum number of attempts or the maximum retry time was reached. */
  SSEKIT_E_RETRIES_EXHAUSTED = -17,
  /* The stream was closed (by ssekit_stream_close or a callback). */
  SSEKIT_E_CLOSED = -18,
  /* A hook (headers or auth) returned non-zero, refusing to connect. */
  SSEKIT_E_HOOK = -19,
  /* The request could not be set up (bad URL, unsupported option, a URL
   * or headers over libcurl's limits); the message names the cause. */
  SSEKIT_E_REQUEST = -20,
  /* A redirect was refused: from https to http (unless
   * ssekit_stream_set_insecure_redirects allows it), to a scheme other than
   * http and https, or to a Location that is not a URL. Fails the stream. */
  SSEKIT_E_REDIRECT = -21,
  /* The response's headers are larger than the client accepts: one header
   * line over libcurl's limit (100 KiB in libcurl 7.88) or 256 KiB of
   * headers in all. Reconnects, as other faults of one response do. */
  SSEKIT_E_RESPONSE_TOO_LARGE = -22,
  /* No event arrived for longer than the event timeout, though the
   * connection may have carried comments or keep-alive bytes (a stalled
   * stream that still pings). Reconnects. */
  SSEKIT_E_EVENT_TIMEOUT = -23
} ssekit_error;

/* A static, human-readable description of an error code ("unknown error
 * code" for a code this version does not know). Never NULL. Any thread. */
SSEKIT_EXTERN const char *ssekit_strerror(int code);

/* The library's version as a string ("0.2.0") and as SSEKIT_VERSION_NUM.
 * A library older than the header fails ssekit_version_num() >=
 * SSEKIT_VERSION_NUM: check it at load (see the ABI policy above). */
/* Any thread. */
SSEKIT_EXTERN const char *ssekit_version(void);
/* Any thread. */
SSEKIT_EXTERN unsigned int ssekit_version_num(void);

/* ------------------------------------------------------------------------ */
/* Parser: a push parser for text/event-stream bytes. No I/O, no clock.     */
/* ------------------------------------------------------------------------ */

typedef struct ssekit_parser ssekit_parser;

/* One dispatched event. The library owns it and its strings; they are valid
 * only during the callback. Fields may be appended in later versions, so
 * never allocate or copy the struct itself. */
typedef struct ssekit_event {
  /* The event type: the last `event` field, or "message" if there was none. */
  const char *type;
  size_t type_len;
  /* The data: the `data` field values joined by "\n". May be empty. */
  const char *data;
  size_t data_len;
  /* The stream's last event ID when the event was dispatched (it persists
   * across events until an `id` field changes it). May be empty. */
  const char *id;
  size_t id_len;
} ssekit_event;

/* Callbacks return 0 to go on. Any other value stops the parser at once: the
 * feed or finish call in progress returns SSEKIT_E_CALLBACK, and the parser
 * accepts nothing more until ssekit_parser_reset(). */
typedef int (*ssekit_event_cb)(const ssekit_event *event, void *userdata);
/* A comment line (": text"): the text after the colon, one leading space
 * removed. Servers send comments as keep-alives. */
typedef int (*ssekit_comment_cb)(const char *text, size_t len, void *userdata);
/* A valid `retry` field: the new reconnection time in milliseconds. A value
 * of only digits that does not fit in 64 bits is ignored like any invalid
 * one: no such delay is meaningful. */
typedef int (*ssekit_retry_cb)(uint64_t retry_ms, void *userdata);

/* Default limits, in bytes (see ssekit_parser_set_max_line). With them any
 * event whose data fits in SSEKIT_DEFAULT_MAX_EVENT is delivered, however
 * its data is split into lines, and a hostile stream can make a parser hold
 * at most 32 MiB + 256 bytes. */
#define SSEKIT_DEFAULT_MAX_LINE 4194304u   /* 4 MiB */
#define SSEKIT_DEFAULT_MAX_EVENT 16777216u /* 16 MiB */

/* A new parser with no callbacks, NULL userdata and the default limits.
 * Returns NULL if memory is exhausted. Free it with ssekit_parser_free().
 * Any thread. */
SSEKIT_EXTERN ssekit_parser *ssekit_parser_new(void);

/* Frees the parser. NULL is allowed. Must not be called from the parser's
 * own callback. Any thread, once no other call on the parser is in
 * progress. */
SSEKIT_EXTERN void ssekit_parser_free(ssekit_parser *parser);

/* Setters. Each replaces the previous value (NULL removes a callback) and
 * returns SSEKIT_OK, or SSEKIT_E_INVALID if parser is NULL. They may be
 * called at any time except from inside the parser's own callback. */
/* One thread at a time per parser (no internal lock). */
SSEKIT_EXTERN int ssekit_parser_set_userdata(ssekit_parser *parser,
                                             void *userdata);
/* One thread at a time per parser (no internal lock). */
SSEKIT_EXTERN int ssekit_parser_on_event(ssekit_parser *parser,
                                         ssekit_event_cb cb);
/* One thread at a time per parser (no internal lock). */
SSEKIT_EXTERN int ssekit_parser_on_comment(ssekit_parser *parser,
                                           ssekit_comment_cb cb);
/* One thread at a time per parser (no internal lock). */
SSEKIT_EXTERN int ssekit_parser_on_retry(ssekit_parser *parser,
                                         ssekit_retry_cb cb);

/* Limits in bytes; 0 means no limit. Set them before the first feed: the
 * memory bound below holds for buffers grown under the limits in force.
 * - A data line (field name "data") is event data: max_line does not apply
 *   to it, its value counts toward max_event. max_event bounds the event's
 *   data as dispatched: the values joined by "\n", each U+FFFD that replaces
 *   an invalid sequence counted as its 3 bytes. Exceeding it stops the
 *   parser with SSEKIT_E_EVENT_TOO_LARGE.
 * - max_line bounds every other line (event, id, retry, comments, unknown
 *   fields): its bytes without the line ending, each U+FFFD counted as its
 *   3 bytes. Exceeding it stops the parser with SSEKIT_E_LINE_TOO_LONG.
 * A line fails as soon as the bytes fed show that it exceeds its limit,
 * even if it never ends. With both limits non-zero, a hostile stream can
 * make the parser's buffers hold at most
 *   max_event + 4 * max_line + 256 bytes:
 * the event's data, plus the line being read, the event type, the pending
 * id and the last event ID, each at most max_line, plus 256 bytes of
 * bookkeeping. */
/* One thread at a time per parser (no internal lock). */
SSEKIT_EXTERN int ssekit_parser_set_max_line(ssekit_parser *parser,
                                             size_t max_line);
/* One thread at a time per parser (no internal lock). */
SSEKIT_EXTERN int ssekit_parser_set_max_event(ssekit_parser *parser,
                                              size_t max_event);

/* Parses the next len bytes of the stream. Any chunking of the stream gives
 * the same callbacks in the same order; events are delivered as soon as
 * their terminating blank line has been fed. data may be NULL if len is 0.
 * Returns SSEKIT_OK, SSEKIT_E_LINE_TOO_LONG, SSEKIT_E_EVENT_TOO_LARGE,
 * SSEKIT_E_CALLBACK, SSEKIT_E_NOMEM, or SSEKIT_E_STATE once the parser was
 * finished. An error sticks: until ssekit_parser_reset(), every feed and
 * finish returns it again without parsing anything. One thread at a time
 * per parser (no internal lock), not from inside its own callbacks. */
SSEKIT_EXTERN int ssekit_parser_feed(ssekit_parser *parser, const void *data,
                                     size_t len);

/* Ends the stream. As the standard requires, an event that was not
 * terminated by a blank line is discarded, never dispatched. Afterwards the
 * parser accepts no more bytes until ssekit_parser_reset(). Returns
 * SSEKIT_OK, or the sticky error of an earlier call. One thread at a time
 * per parser (no internal lock), not from inside its own callbacks. */
SSEKIT_EXTERN int ssekit_parser_finish(ssekit_parser *parser);

/* Returns the parser to its state after ssekit_parser_new(), keeping the
 * callbacks, userdata and limits: buffers, the last event ID, the BOM check
 * and any sticky error are cleared. One thread at a time per parser (no
 * internal lock), not from inside its own callbacks. */
SSEKIT_EXTERN int ssekit_parser_reset(ssekit_parser *parser);

/* The stream's last event ID (set when an event, or a blank line, is
 * dispatched). Valid until the next call on the parser. If len is not NULL
 * it receives the length. Never NULL for a valid parser. One thread at a
 * time per parser (no internal lock); also from inside its callbacks. */
SSEKIT_EXTERN const char *ssekit_parser_last_event_id(
    const ssekit_parser *parser, size_t *len);

/* A NUL-terminated description of the sticky error, with the stream offset
 * where it happened ("" when there is none). Valid until the next call on
 * the parser. One thread at a time per parser (no internal lock); also
 * from inside its callbacks. */
SSEKIT_EXTERN const char *ssekit_parser_error_message(
    const ssekit_parser *parser);

/* ------------------------------------------------------------------------ */
/* Encoder: the inverse of the parser, for servers and tests.               */
/* ------------------------------------------------------------------------ */

/* The encoders write into out (out_cap bytes) and store the number of bytes
 * written, or needed, in *out_len. Like snprintf, they may be called with
 * out == NULL and out_cap == 0 to learn the size. Nothing is NUL-terminated.
 * Returns SSEKIT_OK, SSEKIT_E_BUFFER_TOO_SMALL (with *out_len set to the
 * size needed and out left untouched), or SSEKIT_E_INVALID. */

/* One event, terminated by a blank line:
 * - type: an `event` line; NULL or empty for none (the type "message").
 *   Must not hold CR or LF.
 * - id: an `id` line; NULL for none, empty to reset the client's last event
 *   ID. Must not hold CR, LF or NUL.
 * - data: one `data` line per line of data; "a\nb" becomes two lines. CR,
 *   CRLF and LF all end a line, so they all come back as LF. NULL writes no
 *   data line (the event then only updates the id); empty writes one empty
 *   `data` line (an event with empty data).
 * - retry_ms: a `retry` line if >= 0.
 * Any thread: the encoders keep no state. */
SSEKIT_EXTERN int ssekit_encode_event(const char *type, size_t type_len,
                                      const char *id, size_t id_len,
                                      const char *data, size_t data_len,
                                      int64_t retry_ms, char *out,
                                      size_t out_cap, size_t *out_len);

/* A comment: one ":" line per line of text (": keep-alive\n"). Clients
 * ignore comments; servers send them to keep idle connections open. Any
 * thread. */
SSEKIT_EXTERN int ssekit_encode_comment(const char *text, size_t len,
                                        char *out, size_t out_cap,
                                        size_t *out_len);

/* ------------------------------------------------------------------------ */
/* Client: reconnecting EventSource streams over HTTP (libcurl).            */
/* ------------------------------------------------------------------------ */

/*
 * Threads. Streams are driven by a loop: one I/O thread that runs libcurl's
 * multi interface for any number of streams. ssekit_stream_new() streams run
 * on a default loop shared by the process, created on first use; a loop of
 * your own (ssekit_loop_new) isolates streams from slow callbacks elsewhere.
 *
 * Every stream callback runs on its loop's thread, one at a time per loop.
 * A callback that blocks stalls every stream of that loop; when the stalled
 * loop stops reading, TCP flow control slows the servers down, so nothing is
 * buffered without bound. Consumers that hand events to another thread use
 * ssekit_stream_pause()/resume() around a bounded queue: a pause takes
 * effect after the network read being parsed, so at most one read (up to
 * 64 KiB, decompressed) is delivered after it.
 *
 * Configure a stream (the setters) before ssekit_stream_start(); setters
 * called later return SSEKIT_E_STATE, except ssekit_stream_set_header() and
 * ssekit_stream_add_listener(), which also change a running stream. The
 * setters take no lock: call them from one thread at a time per stream,
 * and not while ssekit_stream_start() runs on another. start, close,
 * restart, pause, resume, the getters and free may be called from any
 * thread, also from inside the stream's own callbacks.
 *
 * ssekit_stream_close() guarantees that no callback of the stream runs after
 * it returns, except the final `closed` callback when closing from inside a
 * callback:
 * - from another thread: it waits for a callback of the stream that is
 *   running to return, then stops the stream, then calls `closed` on the
 *   loop thread, and returns after that;
 * - on the loop thread (from inside one of the stream's callbacks, or a
 *   callback of another stream of the same loop): it cannot wait for
 *   itself, so it marks the stream closed and returns at once; the
 *   callback in progress finishes, no other callback follows except
 *   `closed`, which runs as soon as the current callback returns.
 * `closed` runs exactly once per started stream, last, on the loop thread:
 * the place to free what userdata points to.
 * ssekit_stream_release() is the release that never waits, for bindings:
 * garbage-collector finalizers, and callers that hold a lock (Python's GIL)
 * that a callback on the loop thread may be waiting for.
 *
 * Signals, fork and exit.
 * - Loop threads block every asynchronous signal, so SIGINT (Ctrl-C),
 *   SIGTERM and the rest go to the application's own threads.
 * - After fork(), in the child, every stream and loop inherited from the
 *   parent is dead: it has no thread there. No callback of it runs again;
 *   close, release and free return at once (its `closed` never runs), its
 *   state stays as it was, and a stream cannot start on a loop the parent
 *   made (SSEKIT_E_STATE). Streams started in the child run on a new
 *   default loop of the child's own. The parent is unaffected.
 * - A process may exit with streams still open (returning from main,
 *   exit(), an interpreter shutting down): the default loop is never freed,
 *   so its thread keeps running, and may call callbacks, until the process
 *   ends; then it simply stops. A binding whose callbacks enter an
 *   interpreter must keep them out of it once the interpreter is being
 *   finalized: release its streams at exit (an atexit handler calling
 *   ssekit_stream_release, which does not wait), or have its callbacks
 *   check a flag it clears there.
 */

typedef struct ssekit_loop ssekit_loop;
typedef struct ssekit_stream ssekit_stream;
/* A response's status and headers; valid only during the open callback,
 * or, taken from a queue (SSEKIT_ITEM_OPEN), until its batch is freed. */
typedef struct ssekit_response ssekit_response;
/* A list of request headers that a hook adds to; valid during the hook. */
typedef struct ssekit_headers ssekit_headers;
/* What went wrong, with the failing response's status, headers and first
 * body bytes; valid only during the failure callback, or, taken from a
 * queue (SSEKIT_ITEM_ERROR), until its batch is freed. Read it with the
 * ssekit_failure_* accessors, so that fields can be added. */
typedef struct ssekit_failure ssekit_failure;

typedef enum ssekit_state {
  SSEKIT_STATE_CONNECTING = 0, /* as EventSource.CONNECTING */
  SSEKIT_STATE_OPEN = 1,
  SSEKIT_STATE_CLOSED = 2
} ssekit_state;

/* What a clean end of the response body means. */
typedef enum ssekit_on_end {
  /* Reconnect, as EventSource does (the default). */
  SSEKIT_END_RECONNECT = 0,
  /* Finish: the stream closes with SSEKIT_OK. For one-shot responses, such
   * as an LLM answer streamed to a POST, which must not be sent again. */
  SSEKIT_END_FINISH = 1
} ssekit_on_end;

/* Per-stream counters, read with ssekit_stream_metric(). */
typedef enum ssekit_metric {
  SSEKIT_METRIC_BYTES = 0,        /* body bytes received, all connections */
  SSEKIT_METRIC_EVENTS = 1,       /* events delivered */
  SSEKIT_METRIC_RECONNECTS = 2,   /* connections attempted after the first */
  SSEKIT_METRIC_LAST_STATUS = 3,  /* HTTP status of the last response, or 0 */
  SSEKIT_METRIC_IDLE_MS = 4,      /* milliseconds since the last byte */
  SSEKIT_METRIC_CONNECTIONS = 5,  /* connections that reached OPEN */
  SSEKIT_METRIC_DEDUPED = 6       /* replayed events skipped (see dedupe) */
} ssekit_metric;

/* Callbacks. Each gets the stream's userdata last. */

/* The stream opened: status 200 and a text/event-stream body. */
typedef void (*ssekit_open_cb)(const ssekit_response *response, void *userdata);
/* An error. code is an ssekit_error; http_status the response status or 0;
 * message a NUL-terminated description; will_retry says whether the stream
 * reconnects, after retry_ms milliseconds. Without a retry the stream is
 * closing and `closed` follows. */
typedef void (*ssekit_error_cb)(int code, int http_status, const char *message,
                                int will_retry, uint64_t retry_ms,
                                void *userdata);
/* The failure-handle form of the error callback, called right after it
 * (set either or both): the same code, status, message and retry decision,
 * plus, when the failure is the server's answer (an HTTP status error, a
 * wrong Content-Type), that response's headers (Retry-After,
 * WWW-Authenticate, request ids) and the first bytes of its body. */
typedef void (*ssekit_failure_cb)(const ssekit_failure *failure,
                                  void *userdata);
/* The ready state changed (an ssekit_state); also called with CONNECTING
 * when the stream starts. */
typedef void (*ssekit_state_cb)(int state, void *userdata);
/* The stream is closed for good: code is SSEKIT_OK for a finished one-shot
 * stream or a sentinel, SSEKIT_E_CLOSED after ssekit_stream_close, or the
 * error that ended it. The last callback of the stream. */
typedef void (*ssekit_closed_cb)(int code, void *userdata);
/* Called on the loop thread before every connection attempt, to add fresh
 * headers (an expiring token). Return non-zero to fail the stream with
 * SSEKIT_E_HOOK. A hook that cannot answer on the loop thread (the headers
 * come from an await or a Promise) calls ssekit_stream_defer_headers() and
 * returns 0: the stream then waits, CONNECTING, until
 * ssekit_stream_resume_headers() (any thread) connects, with what the hook
 * added before deferring and what ssekit_stream_set_header() set since
 * (which wins for a name both set), or fails it. The wait lasts at most the
 * connect timeout (none if that is 0): then the attempt fails with
 * SSEKIT_E_CONNECT_TIMEOUT and reconnects as after any connect timeout,
 * asking the hook again (an answer to the earlier call that comes later
 * answers the new wait). */
typedef int (*ssekit_headers_cb)(ssekit_headers *headers, void *userdata);
/* Called when the server answers 401 or 403. Add fresh headers and return
 * non-zero to reconnect at once with them (once per failure in a row: a
 * second 401/403 right after fails the stream); return 0 to fail now.
 * A hook that cannot answer on the loop thread (the token comes from an
 * await or a Promise) calls ssekit_stream_defer_auth() and returns: the
 * stream then waits, CONNECTING, until ssekit_stream_resume_auth() (any
 * thread) reconnects at once, after ssekit_stream_set_header() gave it the
 * new token, or fails it. The wait lasts at most the connect timeout (none
 * if that is 0): then the 401/403 fails the stream as if the hook had
 * returned 0, its message saying the hook did not answer. */
typedef int (*ssekit_auth_cb)(int http_status, ssekit_headers *headers,
                              void *userdata);

/* ssekit_event_cb, ssekit_comment_cb and ssekit_retry_cb (see the parser)
 * serve streams too: for a stream, a non-zero return closes it, as
 * ssekit_stream_close() from the callback would.
 * Callbacks must not throw (C++ callers). An exception that escapes an
 * event, comment, retry, open or headers callback never unwinds through
 * libcurl: the stream ends, with SSEKIT_E_NOMEM for std::bad_alloc and
 * SSEKIT_E_CALLBACK for anything else. */

/* Loops. */

/* A new loop with its own I/O thread. NULL if the thread or memory could not
 * be had. (The default loop is never freed, so that streams still running
 * while a process exits do not touch a destroyed loop; close them first.)
 * Any thread. */
SSEKIT_EXTERN ssekit_loop *ssekit_loop_new(void);
/* Closes every stream still on the loop (as ssekit_stream_close), stops its
 * thread and frees it. NULL is allowed. From the loop's own thread (a
 * callback) it cannot wait for itself: it returns at once, every stream of
 * the loop gets its `closed` callback after the current callback returns,
 * and the thread then frees the loop and exits. In a child process after
 * fork(), a loop the parent made has no thread: freeing it closes its
 * descriptors and leaves the rest (as the child's exit would). Any thread;
 * except on the loop's own thread it waits until that thread has run every
 * `closed` callback and stopped. */
SSEKIT_EXTERN void ssekit_loop_free(ssekit_loop *loop);

/* Streams. */

/* A new stream for url (http or https), not started, with the defaults
 * below. The URL is copied. NULL if url is NULL or memory is exhausted.
 * Any thread. */
SSEKIT_EXTERN ssekit_stream *ssekit_stream_new(const char *url);
/* Stops the stream and frees the handle without ever waiting, from any
 * thread: a garbage collector's finalizer, a callback of another stream or
 * another loop's thread, or with a language's global lock held while a
 * callback waits for it. The stream stops as ssekit_stream_close() would,
 * its `closed` callback (if it had started) runs on the loop thread, and
 * the handle is freed after that; the caller must not use it once this
 * returns. NULL is allowed. Any thread, including finalizers and the
 * stream's own callbacks; never waits. */
SSEKIT_EXTERN void ssekit_stream_release(ssekit_stream *stream);
/* Closes the stream if it runs (as ssekit_stream_close), then frees the
 * handle. From inside a callback on the stream's loop thread it does not
 * wait: the handle stays valid, for the stream's own `closed` callback
 * too, and is released after `closed` has run. NULL is allowed. Any
 * thread; it waits as ssekit_stream_close does, except on the stream's
 * loop thread (then the free happens after `closed`). */
SSEKIT_EXTERN void ssekit_stream_free(ssekit_stream *stream);

/* Setters: SSEKIT_OK, SSEKIT_E_INVALID for a NULL handle or bad value,
 * SSEKIT_E_STATE after start (ssekit_stream_set_header and
 * ssekit_stream_add_listener also serve a running stream). Strings are
 * copied. They take no lock: one thread at a time per stream, and none
 * while ssekit_stream_start() runs (see "Threads" above). */

/* Runs the stream on loop instead of the default loop. The loop must
 * outlive the stream. Any thread, before ssekit_stream_start() (later:
 * SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_loop(ssekit_stream *s, ssekit_loop *loop);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_userdata(ssekit_stream *s, void *userdata);

/* Request. The method defaults to GET; a body (sent again on every
 * reconnect) makes sense with POST: name its type with a Content-Type header
 * (libcurl's default is application/x-www-form-urlencoded). Headers are
 * added to Accept: text/event-stream and Cache-Control: no-cache (an added
 * header of the same name replaces those). */
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_method(ssekit_stream *s, const char *method);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_body(ssekit_stream *s, const void *body,
                                         size_t len);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_add_header(ssekit_stream *s, const char *name,
                                           const char *value);
/* Sets (replacing one of the same name, case-insensitively) or, with
 * value NULL, removes a request header. Before start, as
 * ssekit_stream_add_header; on a running stream the loop thread makes the
 * change, which applies from the next connection attempt on (a refreshed
 * token); on a stopped stream it does nothing. Any thread, any time, also
 * from a callback; never waits. */
SSEKIT_EXTERN int ssekit_stream_set_header(ssekit_stream *s, const char *name,
                                           const char *value);
/* The last event ID to start from, sent as Last-Event-ID (raw bytes).
 * A last event ID longer than 65536 bytes (which a server may set: the
 * parser's line limit allows it) is kept and reported with events, but not
 * sent: reconnects then go without Last-Event-ID, so the server starts the
 * stream where it starts it for a new client. libcurl refuses requests
 * over 1 MiB, and no server needs such a cursor. Any thread, before
 * ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_last_event_id(ssekit_stream *s,
                                                  const char *id, size_t len);
/* Also (or only, for servers that read no header) send the last event ID as
 * the query parameter `name`, percent-encoded, replacing one of that name.
 * Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_last_event_id_param(ssekit_stream *s,
                                                        const char *name);

/* Reconnection policy, in milliseconds. The delay before the n-th
 * reconnect in a row (n = 1, 2, ...) is
 *   min(max_delay, max(base, min_delay) * 2^(n-1)),
 * where base is the initial delay or the server's latest `retry`; then a
 * random jitter takes off up to half of it, and the result is raised back
 * to min_delay: a server can lower the delay (`retry: 0`), never below the
 * floor. A Retry-After longer than that delay replaces it, up to
 * max_retry_after, which overrides max_delay (the server said when it will
 * be back).
 * n counts failed attempts in a row: a connection that opened and
 * delivered at least one event, or stayed open for reset_after (a stream of
 * keep-alives only), was a success, and the next delay is the base again.
 * max_attempts (0: unlimited) bounds the failures in a row; max_retry_time
 * (0: unlimited) the time since the first of them.
 * Defaults: initial 3000, min 250, max 30000, reset_after 60000,
 * max_retry_after 600000 (10 minutes), max_attempts 0, max_retry_time 0.
 * Every duration setter of a stream clamps its value to 2147483647 ms
 * (about 24.8 days): larger values, UINT64_MAX included, mean that. */
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_initial_delay(ssekit_stream *s, uint64_t ms);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_min_delay(ssekit_stream *s, uint64_t ms);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_max_delay(ssekit_stream *s, uint64_t ms);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_reset_after(ssekit_stream *s, uint64_t ms);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_max_retry_after(ssekit_stream *s,
                                                    uint64_t ms);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_max_attempts(ssekit_stream *s,
                                                 uint32_t attempts);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_max_retry_time(ssekit_stream *s,
                                                   uint64_t ms);
/* What reconnects and what fails. Network errors, connect and read
 * timeouts, TLS handshake failures, exceeded parser limits and a clean end
 * of the body (unless on_end is FINISH) reconnect. A wrong Content-Type,
 * too many redirects, a certificate that does not verify, a hook that
 * refuses and a request that cannot be made fail the stream.
 * Statuses: by default 5xx, 408 and 429 reconnect (after Retry-After, in
 * seconds or as an HTTP date, if the server sent one and it is longer than
 * the backoff, capped at max_retry_after); 204 and every other status fail
 * the stream. A response whose headers are too large
 * (SSEKIT_E_RESPONSE_TOO_LARGE) reconnects; a refused redirect
 * (SSEKIT_E_REDIRECT) fails. Strict mode
 * behaves as a browser: every status but 200 fails. Any thread, before
 * ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_strict(ssekit_stream *s, int strict);
/* on non-zero: until a connection of the stream has opened, any failure
 * ends the stream instead of reconnecting (its error has will_retry 0,
 * then `closed` follows with its code), so that a wrong host, a refused
 * connection or a 401 is reported at once, as an HTTP client would. Once
 * a connection opened, failures reconnect as configured. Off by default,
 * as in EventSource. Any thread, before ssekit_stream_start() (later:
 * SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_fail_first(ssekit_stream *s, int on);
/* on 0: the request is never sent again. Any failure ends the stream (its
 * error has will_retry 0, then `closed` follows with its code), and so
 * does the end of the body: with SSEKIT_OK under SSEKIT_END_FINISH, else
 * with SSEKIT_E_STREAM_ENDED. For an answer to a POST (an LLM completion)
 * that a retry would ask for, and pay for, twice. Default 1. Any thread,
 * before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_reconnect(ssekit_stream *s, int on);
/* on non-zero: after an error that will retry, the stream reconnects only
 * once its delay has passed and ssekit_stream_ack_error() was called. For
 * queue consumers, which see an error later than it happened: a binding
 * acks after its error handlers ran, so that one that closed the stream
 * there (an EventSource's onerror) is never followed by another request.
 * Off by default. Any thread, before ssekit_stream_start() (later:
 * SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_ack_errors(ssekit_stream *s, int on);
/* Timeouts in milliseconds, 0 for none. Connect: default 30000. Read (no
 * byte, comments included, for that long drops the connection and
 * reconnects with SSEKIT_E_READ_TIMEOUT): default 0, set it when the server
 * sends keep-alives. While the response headers arrive, what counts is a
 * complete header line (libcurl hands over whole lines only): a server that
 * trickles one header line more slowly than the read timeout is dropped,
 * however steadily its bytes come. Values are clamped as the delays are. */
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_connect_timeout(ssekit_stream *s,
                                                    uint64_t ms);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_read_timeout(ssekit_stream *s, uint64_t ms);
/* Event timeout in milliseconds, 0 (the default) for none: no event for
 * that long after the connection opened or since the last event (comments
 * and keep-alive bytes do not count; a paused stream does not count)
 * drops the connection and reconnects with SSEKIT_E_EVENT_TIMEOUT. For LLM
 * streams that keep sending pings after they stalled. Any thread, before
 * ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_event_timeout(ssekit_stream *s,
                                                  uint64_t ms);
/* How much of a failing response's body is read for the failure callback
 * (an HTTP status other than 200, or a wrong Content-Type): up to
 * max_bytes (default 65536; 0 reads none and fails at the headers), for at
 * most timeout_ms (default 5000) after the headers; then the attempt ends
 * as it would have without the body. Any thread, before
 * ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_error_body(ssekit_stream *s,
                                               size_t max_bytes,
                                               uint64_t timeout_ms);
/* One-shot streams: what a clean end of the body means (ssekit_on_end), and
 * an optional sentinel: an event whose data equals it (e.g. "[DONE]") is
 * not delivered and finishes the stream. */
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_on_end(ssekit_stream *s, int on_end);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_done_sentinel(ssekit_stream *s,
                                                  const char *data);
/* Opt-in, for one-shot streams from servers that omit the final blank
 * line: when the body ends cleanly, an event it left without its blank
 * line (and a last line without its line ending) is dispatched instead of
 * discarded, as if the blank line had arrived. The standard discards it,
 * which stays the default. Any thread, before ssekit_stream_start()
 * (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_dispatch_unterminated(ssekit_stream *s,
                                                          int on);
/* Opt-in replay protection, for servers that resend events a client already
 * has when it resumes: an event whose own `id` field repeats the id of one
 * of the last 4096 events delivered is skipped (and counted in
 * SSEKIT_METRIC_DEDUPED). Events without an `id` field of their own are
 * always delivered. Ids are remembered as 64-bit FNV-1a fingerprints, so
 * the window holds under 200 KiB whatever the ids' length; two distinct ids
 * with the same fingerprint count as one (for random ids, about one chance
 * in 4 * 10^15 per event). Any thread, before ssekit_stream_start()
 * (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_dedupe(ssekit_stream *s, int on);
/* Parser limits (see ssekit_parser_set_max_line/event). Exceeding one drops
 * the connection and reconnects with an error callback. */
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_max_line(ssekit_stream *s, size_t max);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_max_event(ssekit_stream *s, size_t max);

/* Transport. TLS peers are verified unless insecure is set. Proxies come
 * from the usual environment variables unless set here ("" disables them).
 * HTTP/2 is used where the server offers it, and streams of one loop to the
 * same host then share a connection. Compressed responses are decoded.
 *
 * Redirects (301, 302, 303, 307, 308 with a Location) are followed up to
 * max_redirects per attempt (default 10; 0 refuses them: more fail with
 * SSEKIT_E_TOO_MANY_REDIRECTS). A 3xx without a Location, or with an empty
 * one, is an HTTP status error like any other. ssekit follows them itself,
 * under these rules:
 * - Headers the caller set (ssekit_stream_add_header, the headers hook and
 *   the auth hook) are sent only to the origin (scheme, host, port) of the
 *   stream's URL. A hop to another origin gets none of them, unless
 *   ssekit_stream_set_redirect_headers() is on, which forwards all but
 *   Authorization, Cookie and Proxy-Authorization (those never leave their
 *   origin). Accept, Cache-Control and Last-Event-ID go to every hop; cookies
 *   from a cookie file follow libcurl's cookie rules (by domain). A redirect
 *   back to the stream's origin gets the caller's headers again.
 * - A redirect from https to http fails the stream with SSEKIT_E_REDIRECT,
 *   unless ssekit_stream_set_insecure_redirects() allows it; so does one to
 *   a scheme other than http and https.
 * - Method and body: 303 turns any method but HEAD into a GET, 301 and 302
 *   turn a POST into a GET; the body and its headers (Content-Type and the
 *   other Content-* headers) are then not sent. 307 and 308 keep the method
 *   and the body.
 * - Reconnects: after a chain of permanent redirects (301, 308 only) that
 *   stayed on the stream's origin, reconnects go straight to the final URL,
 *   with the method and body the chain left (a POST turned into a GET by a
 *   301 stays a GET). A chain that left the origin is not remembered:
 *   reconnects start again at the stream's URL, so the caller's headers keep
 *   going to the origin they were set for, and that origin may send the
 *   client elsewhere next time. ssekit_stream_url() tells which URL
 *   reconnects use.
 * The headers hook runs once per attempt, before its first hop. */
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_redirect_headers(ssekit_stream *s, int on);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_insecure_redirects(ssekit_stream *s,
                                                       int on);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_insecure(ssekit_stream *s, int insecure);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_ca_file(ssekit_stream *s, const char *path);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_ca_path(ssekit_stream *s, const char *dir);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_client_cert(ssekit_stream *s,
                                                const char *cert_path,
                                                const char *key_path);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_proxy(ssekit_stream *s, const char *proxy);
/* Reads cookies from (and keeps those the server sets in) a Netscape or
 * header-format cookie file; "" starts an empty cookie jar. Any thread,
 * before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_cookie_file(ssekit_stream *s,
                                                const char *path);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_max_redirects(ssekit_stream *s,
                                                  uint32_t max);

/* Callbacks (NULL removes one). */
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_on_open(ssekit_stream *s, ssekit_open_cb cb);
/* Every event, whatever its type (after the listeners for its type). Any
 * thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_on_event(ssekit_stream *s, ssekit_event_cb cb);
/* Events of one type only; adding a listener for a type that has one
 * replaces it, and NULL removes it. Valid at any time, from any thread,
 * also from a callback, as EventSource's addEventListener is; never waits.
 * On a running stream the change is handed to the loop thread, which makes
 * it once the network reads in progress are parsed: the rest of the read
 * being parsed still reaches the listeners it found. On a stopped stream
 * it does nothing. */
SSEKIT_EXTERN int ssekit_stream_add_listener(ssekit_stream *s, const char *type,
                                             ssekit_event_cb cb);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_on_comment(ssekit_stream *s,
                                           ssekit_comment_cb cb);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_on_retry(ssekit_stream *s, ssekit_retry_cb cb);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_on_error(ssekit_stream *s, ssekit_error_cb cb);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_on_failure(ssekit_stream *s,
                                           ssekit_failure_cb cb);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_on_state(ssekit_stream *s, ssekit_state_cb cb);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_on_closed(ssekit_stream *s, ssekit_closed_cb cb);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_on_headers(ssekit_stream *s,
                                           ssekit_headers_cb cb);
/* Any thread, before ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_on_auth(ssekit_stream *s, ssekit_auth_cb cb);

/* Control. Any thread, also from the stream's callbacks, except the defer
 * functions, which only the hook itself may call. */

/* From inside the stream's auth hook only (the loop thread; anywhere else
 * SSEKIT_E_STATE): answer later. */
SSEKIT_EXTERN int ssekit_stream_defer_auth(ssekit_stream *s);
/* After ssekit_stream_defer_auth: retry non-zero reconnects now (counted
 * as the hook's one retry), 0 fails the stream with the 401/403 as if the
 * hook had returned 0. SSEKIT_E_STATE on a closed stream. Any thread,
 * also from a callback; never waits: the loop thread acts on it. */
SSEKIT_EXTERN int ssekit_stream_resume_auth(ssekit_stream *s, int retry);
/* From inside the stream's headers hook only (the loop thread; anywhere
 * else SSEKIT_E_STATE): answer later. */
SSEKIT_EXTERN int ssekit_stream_defer_headers(ssekit_stream *s);
/* After ssekit_stream_defer_headers: proceed non-zero connects now, 0 fails
 * the stream with SSEKIT_E_HOOK as if the hook had returned non-zero.
 * Headers set with ssekit_stream_set_header() before this call apply to
 * this attempt. SSEKIT_E_STATE on a closed stream. A restart while the
 * stream waits asks the hook again. Any thread, also from a callback;
 * never waits: the loop thread acts on it. */
SSEKIT_EXTERN int ssekit_stream_resume_headers(ssekit_stream *s, int proceed);
/* With ack_errors: the consumer has seen the stream's last error, and the
 * reconnect it announced may go ahead (at once if its delay has passed).
 * SSEKIT_E_STATE on a closed stream. Any thread, also from a callback;
 * never waits: the loop thread acts on it. */
SSEKIT_EXTERN int ssekit_stream_ack_error(ssekit_stream *s);

/* Starts connecting. SSEKIT_E_STATE if already started. Any thread, once
 * the setters have returned (none may run meanwhile); it does not wait for
 * the loop, whose thread connects. */
SSEKIT_EXTERN int ssekit_stream_start(ssekit_stream *s);
/* Stops the stream for good. Closing a closed or never started stream is
 * SSEKIT_OK. Any thread; waits for the loop unless called on the loop
 * thread (see the guarantee above). */
SSEKIT_EXTERN int ssekit_stream_close(ssekit_stream *s);
/* Drops the connection and reconnects at once, keeping the last event ID,
 * without an error callback. SSEKIT_E_STATE if the stream is closed or not
 * started. Any thread, also from a callback; never waits. */
SSEKIT_EXTERN int ssekit_stream_restart(ssekit_stream *s);
/* Stops reading from the network after the read being parsed, until resume.
 * The read timeout does not run while paused. Any thread, also from a
 * callback; never waits. On the loop thread it applies from the next read;
 * from another thread, once the loop thread has taken the request. */
SSEKIT_EXTERN int ssekit_stream_pause(ssekit_stream *s);
/* Any thread, also from a callback; never waits. */
SSEKIT_EXTERN int ssekit_stream_resume(ssekit_stream *s);

/* Getters. Any thread. */

/* An ssekit_state (SSEKIT_STATE_CLOSED for NULL or never started). Any
 * thread, also from a callback. */
SSEKIT_EXTERN int ssekit_stream_state(const ssekit_stream *s);
/* A counter (ssekit_metric); 0 for NULL or an unknown metric. Any thread,
 * also from a callback. */
SSEKIT_EXTERN uint64_t ssekit_stream_metric(const ssekit_stream *s, int metric);
/* Copies the stream's last event ID into buf (cap bytes, not terminated) and
 * stores its length in *len. SSEKIT_E_BUFFER_TOO_SMALL if it does not fit.
 * Any thread, also from a callback (before start, not while
 * ssekit_stream_set_last_event_id runs). */
SSEKIT_EXTERN int ssekit_stream_last_event_id(const ssekit_stream *s, char *buf,
                                              size_t cap, size_t *len);
/* The URL reconnects go to (changed by permanent redirects that stayed on
 * the stream's origin), copied as ssekit_stream_last_event_id copies. Any
 * thread, also from a callback. */
SSEKIT_EXTERN int ssekit_stream_url(const ssekit_stream *s, char *buf,
                                    size_t cap, size_t *len);

/* Response (the open callback's, or an OPEN item's from a queue). */
/* In the open callback, or on any thread while its batch lives. */
SSEKIT_EXTERN int ssekit_response_status(const ssekit_response *r);
/* The value of the first header called name (case-insensitive), or NULL.
 * In the open callback, or on any thread while its batch lives. */
SSEKIT_EXTERN const char *ssekit_response_header(const ssekit_response *r,
                                                 const char *name);
/* In the open callback, or on any thread while its batch lives. */
SSEKIT_EXTERN size_t ssekit_response_header_count(const ssekit_response *r);
/* Header i (0-based, in arrival order): name and value, NUL-terminated.
 * SSEKIT_E_INVALID when i is out of range. In the open callback, or on
 * any thread while its batch lives. */
SSEKIT_EXTERN int ssekit_response_header_at(const ssekit_response *r, size_t i,
                                            const char **name,
                                            const char **value);

/* Failure (the failure callback's, or an ERROR item's from a queue).
 * code: an ssekit_error (SSEKIT_E_INVALID for NULL); status: the HTTP
 * status or 0; message: NUL-terminated, never NULL; will_retry and
 * retry_ms: whether and after how long the stream reconnects (without a
 * retry `closed` follows). */
/* In the failure callback, or on any thread while its batch lives. */
SSEKIT_EXTERN int ssekit_failure_code(const ssekit_failure *f);
/* In the failure callback, or on any thread while its batch lives. */
SSEKIT_EXTERN int ssekit_failure_status(const ssekit_failure *f);
/* In the failure callback, or on any thread while its batch lives. */
SSEKIT_EXTERN const char *ssekit_failure_message(const ssekit_failure *f);
/* In the failure callback, or on any thread while its batch lives. */
SSEKIT_EXTERN int ssekit_failure_will_retry(const ssekit_failure *f);
/* In the failure callback, or on any thread while its batch lives. */
SSEKIT_EXTERN uint64_t ssekit_failure_retry_ms(const ssekit_failure *f);
/* The failing response's headers, as ssekit_response_header*: none when
 * the failure is not a response (a network error, a timeout). */
/* In the failure callback, or on any thread while its batch lives. */
SSEKIT_EXTERN const char *ssekit_failure_header(const ssekit_failure *f,
                                                const char *name);
/* In the failure callback, or on any thread while its batch lives. */
SSEKIT_EXTERN size_t ssekit_failure_header_count(const ssekit_failure *f);
/* In the failure callback, or on any thread while its batch lives. */
SSEKIT_EXTERN int ssekit_failure_header_at(const ssekit_failure *f, size_t i,
                                           const char **name,
                                           const char **value);
/* The first bytes of the failing response's body (decoded if it was
 * compressed; see ssekit_stream_set_error_body), never NULL, followed by a
 * NUL for convenience, but it may hold NUL bytes: use *len. Empty when the
 * failure is not a response or the response had no body. In the failure
 * callback, or on any thread while its batch lives. */
SSEKIT_EXTERN const char *ssekit_failure_body(const ssekit_failure *f,
                                              size_t *len);

/* ------------------------------------------------------------------------ */
/* Queue: streams deliver to a queue instead of callbacks, for consumers    */
/* that must not run on the loop thread (language bindings).                */
/* ------------------------------------------------------------------------ */

/*
 * A stream given a queue (ssekit_stream_set_queue) calls none of its
 * delivery callbacks (open, event, listeners, comment, retry, error,
 * failure, state, closed); it appends a copy of each to the queue instead,
 * in order. The headers and auth hooks still run on the loop thread.
 * Several streams may share one queue (a binding's event loop watches one
 * descriptor for all its streams): each stream's items keep their order,
 * and items of different streams interleave in runs (the reads of one
 * loop pass, up to a quarter of the queue's bounds). An item's userdata says which stream it came from; a stream's last
 * item is SSEKIT_ITEM_CLOSED, so its userdata must stay valid until that
 * item has been taken.
 *
 * Bounds: when a stream's push leaves the queue over max_items items or
 * max_bytes bytes of strings, that stream pauses its transfer (as
 * ssekit_stream_pause, without the caller's pause state), and the take
 * that empties the queue resumes it. Nothing is dropped, and the queue
 * holds at most its bounds plus, per stream, a quarter of them and one
 * network read (64 KiB, as events): a slow consumer slows the servers
 * through TCP flow control instead of growing memory. A stream pushes what
 * it parsed once its loop has no more data waiting (or after a few loop
 * passes, or once it staged a quarter of the bounds), so a fast stream
 * wakes its consumer once for many reads and a slow one at once. The read and event timeouts do not run while
 * the queue holds a stream paused.
 *
 * Waking the consumer: ssekit_queue_fd() is readable while the queue is
 * not empty (poll it, asyncio's add_reader, libuv's uv_poll; never read
 * it), and the ready callback runs, on the loop thread that pushed, when
 * the queue goes from empty to non-empty: it must only signal (a
 * uv_async_send, a condition), never call into an interpreter, call a
 * ssekit_queue function (it runs with the queue's lock held, so that once
 * ssekit_queue_on_ready returns the old callback is never called again) or
 * take a lock a consumer may hold while it waits for the loop.
 * A queue inherited through fork() is the parent's: in the child its
 * descriptor is -1 and takes return nothing.
 */
typedef struct ssekit_queue ssekit_queue;
/* What one take returned; owns every item and string in it. */
typedef struct ssekit_batch ssekit_batch;

typedef enum ssekit_item_kind {
  SSEKIT_ITEM_OPEN = 0,    /* status, response */
  SSEKIT_ITEM_EVENT = 1,   /* type, data, id (the last event ID) */
  SSEKIT_ITEM_COMMENT = 2, /* data: the comment text */
  SSEKIT_ITEM_RETRY = 3,   /* value: the new reconnection time in ms */
  SSEKIT_ITEM_ERROR = 4,   /* code, status, will_retry, value: retry ms,
                              data: the message, failure: everything */
  SSEKIT_ITEM_STATE = 5,   /* value: the new ssekit_state */
  SSEKIT_ITEM_CLOSED = 6   /* code, as the closed callback's; the last */
} ssekit_item_kind;

/* One item. The library allocates it: fields may be appended in later
 * versions, so read it through a pointer from ssekit_batch_item() and never
 * copy or allocate the struct. Fields a kind does not use are 0 or NULL;
 * strings are (pointer, length), never NULL, not NUL-terminated. */
typedef struct ssekit_item {
  int kind;        /* an ssekit_item_kind */
  void *userdata;  /* the userdata of the stream it came from */
  const char *type;
  size_t type_len;
  const char *data;
  size_t data_len;
  const char *id;
  size_t id_len;
  int code;
  int status;
  int will_retry;
  uint64_t value;
  const ssekit_response *response; /* OPEN: use the ssekit_response_* */
  const ssekit_failure *failure;   /* ERROR: use the ssekit_failure_* */
} ssekit_item;

/* A queue bounded by max_items items and max_bytes bytes of strings (0 for
 * the defaults, 4096 and 4 MiB). NULL if memory or a descriptor could not
 * be had. Any thread. */
SSEKIT_EXTERN ssekit_queue *ssekit_queue_new(size_t max_items,
                                             size_t max_bytes);
/* Frees the caller's reference: streams still using the queue keep it
 * until they stop, batches taken stay valid. NULL is allowed. Any thread,
 * once no other call with q is in progress. */
SSEKIT_EXTERN void ssekit_queue_free(ssekit_queue *q);
/* Makes the stream deliver to q (see above). Any thread, before
 * ssekit_stream_start() (later: SSEKIT_E_STATE). */
SSEKIT_EXTERN int ssekit_stream_set_queue(ssekit_stream *s, ssekit_queue *q);
/* The descriptor that is readable while the queue is not empty, or -1 for
 * NULL. Owned by the queue. Any thread. */
SSEKIT_EXTERN int ssekit_queue_fd(const ssekit_queue *q);
/* Sets (NULL: removes) the ready callback. Any thread but the ready
 * callback itself (which runs with the lock this takes). */
SSEKIT_EXTERN int ssekit_queue_on_ready(ssekit_queue *q,
                                        void (*cb)(void *userdata),
                                        void *userdata);
/* Takes everything queued, in one lock: *batch receives it, or NULL if
 * nothing arrived within timeout_ms (0: do not wait; negative: wait until
 * something does). Waits without holding any ssekit lock, so a binding
 * releases its interpreter's lock around it. The batch and every string in
 * it are the caller's until ssekit_batch_free, independent of the queue and
 * the streams. SSEKIT_E_INVALID for NULL arguments. Any thread; several
 * consumers of one queue each get their own batches. Not from the ready
 * callback; and with a timeout other than 0, not on the loop thread of a
 * stream that feeds q either (it would hold up the pushes it waits for). */
SSEKIT_EXTERN int ssekit_queue_take(ssekit_queue *q, int64_t timeout_ms,
                                    ssekit_batch **batch);
/* Any thread; the batch is the caller's. */
SSEKIT_EXTERN size_t ssekit_batch_count(const ssekit_batch *b);
/* Item i (0-based), or NULL when i is out of range. Any thread. */
SSEKIT_EXTERN const ssekit_item *ssekit_batch_item(const ssekit_batch *b,
                                                   size_t i);
/* Any thread, once no other call with b is in progress. NULL is allowed. */
SSEKIT_EXTERN void ssekit_batch_free(ssekit_batch *b);

/* Headers (hooks only): adds or, for a name already added, replaces. Only
 * during the hook that was given h (on the loop thread). */
SSEKIT_EXTERN int ssekit_headers_set(ssekit_headers *h, const char *name,
                                     const char *value);

#ifdef __cplusplus
}
#endif

#endif /* SSEKIT_H */
