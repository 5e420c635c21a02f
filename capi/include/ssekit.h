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
 *   empty string. They are not NUL-terminated and may hold NUL bytes. They are always valid UTF-8 (the parser decodes invalid input
 *   to U+FFFD, as the WHATWG standard requires).
 * - Callbacks get the handle's userdata as their last argument.
 * - Threads: a handle may be used by one thread at a time. Distinct handles
 *   are independent. Functions without a handle argument are thread-safe.
 */
#ifndef SSEKIT_H
#define SSEKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SSEKIT_VERSION_MAJOR 0
#define SSEKIT_VERSION_MINOR 1
#define SSEKIT_VERSION_PATCH 0
#define SSEKIT_VERSION_STRING "0.1.0"
/* 0xMMmmpp, so that SSEKIT_VERSION_NUM >= 0x000100 tests for 0.1.0 or later. */
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
  SSEKIT_E_INTERNAL = -8
} ssekit_error;

/* A static, human-readable description of an error code ("unknown error
 * code" for a code this version does not know). Never NULL. */
SSEKIT_EXTERN const char *ssekit_strerror(int code);

/* The library's version as a string ("0.1.0") and as SSEKIT_VERSION_NUM.
 * Compare with the macros to detect a header/library mismatch. */
SSEKIT_EXTERN const char *ssekit_version(void);
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
/* A valid `retry` field: the new reconnection time in milliseconds. */
typedef int (*ssekit_retry_cb)(uint64_t retry_ms, void *userdata);

/* Default limits, in bytes. A line longer than SSEKIT_DEFAULT_MAX_LINE or an
 * event whose data exceeds SSEKIT_DEFAULT_MAX_EVENT stops the parser with
 * SSEKIT_E_LINE_TOO_LONG / SSEKIT_E_EVENT_TOO_LARGE, so a hostile stream can
 * make the parser hold at most about max_line + max_event bytes. */
#define SSEKIT_DEFAULT_MAX_LINE 4194304u   /* 4 MiB */
#define SSEKIT_DEFAULT_MAX_EVENT 16777216u /* 16 MiB */

/* A new parser with no callbacks, NULL userdata and the default limits.
 * Returns NULL if memory is exhausted. Free it with ssekit_parser_free(). */
SSEKIT_EXTERN ssekit_parser *ssekit_parser_new(void);

/* Frees the parser. NULL is allowed. Must not be called from the parser's
 * own callback. */
SSEKIT_EXTERN void ssekit_parser_free(ssekit_parser *parser);

/* Setters. Each replaces the previous value (NULL removes a callback) and
 * returns SSEKIT_OK, or SSEKIT_E_INVALID if parser is NULL. They may be
 * called at any time except from inside the parser's own callback. */
SSEKIT_EXTERN int ssekit_parser_set_userdata(ssekit_parser *parser,
                                             void *userdata);
SSEKIT_EXTERN int ssekit_parser_on_event(ssekit_parser *parser,
                                         ssekit_event_cb cb);
SSEKIT_EXTERN int ssekit_parser_on_comment(ssekit_parser *parser,
                                           ssekit_comment_cb cb);
SSEKIT_EXTERN int ssekit_parser_on_retry(ssekit_parser *parser,
                                         ssekit_retry_cb cb);

/* Limits in bytes; 0 means no limit. The line limit counts one line without
 * its line ending; the event limit counts the event's data as dispatched. */
SSEKIT_EXTERN int ssekit_parser_set_max_line(ssekit_parser *parser,
                                             size_t max_line);
SSEKIT_EXTERN int ssekit_parser_set_max_event(ssekit_parser *parser,
                                              size_t max_event);

/* Parses the next len bytes of the stream. Any chunking of the stream gives
 * the same callbacks in the same order; events are delivered as soon as
 * their terminating blank line has been fed. data may be NULL if len is 0.
 * Returns SSEKIT_OK, SSEKIT_E_LINE_TOO_LONG, SSEKIT_E_EVENT_TOO_LARGE,
 * SSEKIT_E_CALLBACK, SSEKIT_E_NOMEM, or SSEKIT_E_STATE if the parser stopped
 * on an earlier error or was finished. An error sticks until reset. */
SSEKIT_EXTERN int ssekit_parser_feed(ssekit_parser *parser, const void *data,
                                     size_t len);

/* Ends the stream. As the standard requires, an event that was not
 * terminated by a blank line is discarded, never dispatched. Afterwards the
 * parser accepts no more bytes until ssekit_parser_reset(). Returns
 * SSEKIT_OK, or the sticky error of an earlier call. */
SSEKIT_EXTERN int ssekit_parser_finish(ssekit_parser *parser);

/* Returns the parser to its state after ssekit_parser_new(), keeping the
 * callbacks, userdata and limits: buffers, the last event ID, the BOM check
 * and any sticky error are cleared. */
SSEKIT_EXTERN int ssekit_parser_reset(ssekit_parser *parser);

/* The stream's last event ID (set when an event, or a blank line, is
 * dispatched). Valid until the next call on the parser. If len is not NULL
 * it receives the length. Never NULL for a valid parser. */
SSEKIT_EXTERN const char *ssekit_parser_last_event_id(
    const ssekit_parser *parser, size_t *len);

/* A NUL-terminated description of the sticky error, with the stream offset
 * where it happened ("" when there is none). Valid until the next call on
 * the parser. */
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
 * - retry_ms: a `retry` line if >= 0. */
SSEKIT_EXTERN int ssekit_encode_event(const char *type, size_t type_len,
                                      const char *id, size_t id_len,
                                      const char *data, size_t data_len,
                                      int64_t retry_ms, char *out,
                                      size_t out_cap, size_t *out_len);

/* A comment: one ":" line per line of text (": keep-alive\n"). Clients
 * ignore comments; servers send them to keep idle connections open. */
SSEKIT_EXTERN int ssekit_encode_comment(const char *text, size_t len,
                                        char *out, size_t out_cap,
                                        size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* SSEKIT_H */
