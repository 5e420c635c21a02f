/* Live mode: streams a URL with the reconnecting client of the C API. */
#ifndef SSECAT_LIVE_H
#define SSECAT_LIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "output.h"
#include "ssecat.h"

/* Streams url until it finishes, fails for good, --max-events is reached or
 * SIGINT/SIGTERM arrives. Expects wake_init() to have run; unblocks the
 * signals once the client's thread exists. Returns the exit status. */
/* Splits "Name: value" (a token, a colon, the value without surrounding
 * blanks). False if the name is empty or not a token, or the value holds a
 * line break. */
bool live_split_header(const char *header, size_t *name_len,
                       const char **value, size_t *value_len);

int live_run(const struct options *opts, const char *url, struct output *out);

#endif
