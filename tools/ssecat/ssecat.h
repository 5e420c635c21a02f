/* What the parts of ssecat share: exit statuses, the parsed command line. */
#ifndef SSECAT_SSECAT_H
#define SSECAT_SSECAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum exit_status {
  SSECAT_OK = 0,
  SSECAT_USAGE = 1,
  SSECAT_IO = 2,
  SSECAT_STREAM = 3,
  SSECAT_INTERNAL = 4,
  SSECAT_FAILED = 5
};

enum action { ACTION_RUN, ACTION_HELP, ACTION_VERSION };

struct options {
  enum action action;
  const char *input; /* --input PATH ("-" is stdin), or NULL */
  const char *url;   /* the positional argument, or NULL */
  bool json;
  size_t max_line;
  size_t max_event;
  uint64_t max_events; /* 0: no limit */
  bool max_events_set;

  /* Live mode. The strings point into argv. */
  const char **headers; /* -H values, "Name: value" */
  size_t header_count;
  const char *method; /* -X, or NULL */
  const char *data;   /* -d, or NULL */
  const char *last_event_id;
  const char **event_types; /* --event values */
  size_t event_type_count;
  uint64_t timeout_ms; /* 0: none */
  const char *cacert;
  bool no_reconnect;
  bool insecure;
  bool stats;
  bool verbose;

  /* Demo server. */
  bool demo;
  bool serve_demo;
  uint16_t port;
  uint32_t demo_interval_ms;
  uint64_t reset_after_ms; /* 0: the library's default */

  const char *live_option;  /* the first live-only option given, if any */
  const char *demo_option;  /* the first demo-only option given, if any */
};

/* Prints the one-line diagnostic every failure ends with: "ssecat: WHAT:
 * DETAIL". Returns status. */
int ssecat_fail(int status, const char *what, const char *detail);

#endif
