/* A small embedded SSE server on 127.0.0.1 that shows what a client has to
 * cope with: a `retry` field, named events, ids, keep-alive comments and a
 * connection that the server closes every few events, after which the
 * client resumes from its Last-Event-ID.
 *
 * Every connection to `/` gets a chunked text/event-stream response:
 * `retry: 1000`, then alternately `event: tick` (data: the UTC time in
 * ISO 8601) and `event: count` (id and data: a counter, which continues
 * after a numeric Last-Event-ID request header), one event per interval, a
 * `: keep-alive` comment after every third event, and the end of the body
 * after ten events. Other paths get 404. One thread per connection, at most
 * DEMO_MAX_CONNECTIONS at a time (more are refused with 503). */
#ifndef SSECAT_DEMO_SERVER_H
#define SSECAT_DEMO_SERVER_H

#include <stdint.h>
#include <stdio.h>

#define DEMO_MAX_CONNECTIONS 32
#define DEMO_EVENTS_PER_CONNECTION 10
#define DEMO_DEFAULT_INTERVAL_MS 200u

typedef struct demo_server demo_server;

/* Listens on 127.0.0.1:port (0: a free port) and serves in background
 * threads. log, if not NULL, gets one line per request. Returns 0 and
 * stores the server in *out, or returns an errno value. */
int demo_server_start(uint16_t port, uint32_t interval_ms, FILE *log,
                      demo_server **out);

/* The port actually listened on. */
uint16_t demo_server_port(const demo_server *server);

/* Closes every connection, joins every thread and frees the server. NULL is
 * allowed. */
void demo_server_stop(demo_server *server);

#endif
