/* Printing events as text or JSON Lines, shared by every input mode. */
#ifndef SSECAT_OUTPUT_H
#define SSECAT_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ssekit.h"

/* Writes go through stdio and are pushed out by output_flush(), so the
 * caller decides how often output reaches the reader. */
struct output {
  FILE *fp;
  bool json;
  uint64_t max_events; /* 0: no limit */
  uint64_t events;     /* events printed so far */
  bool pending;        /* something was written since the last flush */
  int error;           /* errno of the first failed write, 0 if none */
};

void output_init(struct output *out, FILE *fp, bool json, uint64_t max_events);
void output_event(struct output *out, const ssekit_event *ev);
void output_retry(struct output *out, uint64_t retry_ms);

/* True when the requested number of events has been printed. */
bool output_done(const struct output *out);

/* Pushes the pending output out. Returns true while the output works;
 * otherwise *status receives the exit status: SSECAT_OK when the reader went
 * away (EPIPE: nobody is left to tell), SSECAT_IO after reporting any other
 * write error. */
bool output_flush(struct output *out, int *status);

#endif
