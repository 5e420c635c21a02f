// The definitions of the C API's opaque views that the core fills in: a
// response, a hook's header list, a failure. Plain structs of pointers into
// core-owned data, valid for as long as the C API says.
#ifndef SSEKIT_CORE_ABI_TYPES_H
#define SSEKIT_CORE_ABI_TYPES_H

#include <string>

#include "options.h"
#include "ssekit.h"

struct ssekit_response {
  int status;
  const ssekit::HeaderList *headers;
};

struct ssekit_headers {
  ssekit::HeaderList items;
};

struct ssekit_failure {
  int code;
  int status;
  const char *message;
  int will_retry;
  uint64_t retry_ms;
  const ssekit::HeaderList *headers;  // the failing response's, or empty
  const std::string *body;            // its first bytes, or empty
};

#endif  // SSEKIT_CORE_ABI_TYPES_H
