/* Built against today's header and calling a function 0.2 added, so that it
 * needs SSEKIT_0.2: a 0.1 library must refuse to load it. */
#include <ssekit.h>
#include <stdio.h>

int main(void) {
  /* The load-time check the ABI policy asks of every application. */
  if (ssekit_version_num() < SSEKIT_VERSION_NUM) {
    fprintf(stderr, "ssekit %s is older than %s\n", ssekit_version(),
            SSEKIT_VERSION_STRING);
    return 1;
  }
  if (ssekit_stream_set_min_delay(NULL, 0) != SSEKIT_E_INVALID) return 1;
  puts("ok");
  return 0;
}
