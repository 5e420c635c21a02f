#define _POSIX_C_SOURCE 200809L

#include "demo_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ssekit.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#define DEMO_RETRY_MS 1000
#define DEMO_COMMENT_EVERY 3
#define REQUEST_MAX 8192
#define REQUEST_TIMEOUT_MS 5000
#define LINGER_MS 500

enum conn_state { CONN_FREE, CONN_RUNNING, CONN_DONE };

struct demo_conn {
  demo_server *server;
  pthread_t thread;
  int fd; /* -1 once the connection thread closed it */
  enum conn_state state;
};

struct demo_server {
  int listen_fd;
  int wake[2]; /* written to by demo_server_stop() to wake the acceptor */
  uint16_t port;
  uint32_t interval_ms;
  FILE *log;
  atomic_bool stopping;
  pthread_t acceptor;
  pthread_mutex_t mu; /* guards conns[].fd and conns[].state */
  struct demo_conn conns[DEMO_MAX_CONNECTIONS];
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool send_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t sent = send(fd, data, len, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += sent;
    len -= (size_t)sent;
  }
  return true;
}

static bool send_text(int fd, const char *text) {
  return send_all(fd, text, strlen(text));
}

/* One chunk of a chunked body; each event is written as one chunk so that a
 * client sees it at once. */
static bool send_chunk(int fd, const char *data, size_t len) {
  char head[32];
  int head_len = snprintf(head, sizeof head, "%zx\r\n", len);
  return head_len > 0 && send_all(fd, head, (size_t)head_len) &&
         send_all(fd, data, len) && send_all(fd, "\r\n", 2);
}

/* Sleeps ms milliseconds, or less if the server stops or the client goes
 * away (false then). Bytes the client sends meanwhile are discarded. */
static bool pause_ms(demo_server *server, int fd, uint32_t ms) {
  int64_t deadline = now_ms() + ms;
  for (;;) {
    if (atomic_load(&server->stopping)) return false;
    int64_t left = deadline - now_ms();
    if (left <= 0) return true;
    struct pollfd pfd = {fd, POLLIN, 0};
    int ready = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
    if (ready < 0 && errno != EINTR) return false;
    if (ready > 0) {
      char scratch[512];
      ssize_t got = recv(fd, scratch, sizeof scratch, 0);
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
        return false;
    }
  }
}

/* Reads the request head into buf (NUL-terminated). False if the client
 * left, took too long or sent more than the buffer holds. */
static bool read_request(demo_server *server, int fd, char *buf, size_t cap) {
  size_t len = 0;
  int64_t deadline = now_ms() + REQUEST_TIMEOUT_MS;
  buf[0] = '\0';
  while (strstr(buf, "\r\n\r\n") == NULL && strstr(buf, "\n\n") == NULL) {
    int64_t left = deadline - now_ms();
    if (left <= 0 || len + 1 >= cap || atomic_load(&server->stopping))
      return false;
    struct pollfd pfd = {fd, POLLIN, 0};
    int ready = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    ssize_t got = recv(fd, buf + len, cap - 1 - len, 0);
    if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
      return false;
    if (got > 0) len += (size_t)got;
    buf[len] = '\0';
  }
  return true;
}

/* The value of the request header `name`, trimmed, copied into value. */
static bool find_header(const char *head, const char *name, char *value,
                        size_t cap) {
  size_t name_len = strlen(name);
  const char *line = strchr(head, '\n');
  while (line != NULL && line[1] != '\0' && line[1] != '\r' &&
         line[1] != '\n') {
    ++line;
    const char *end = strpbrk(line, "\r\n");
    if (end == NULL) end = line + strlen(line);
    if ((size_t)(end - line) > name_len && line[name_len] == ':' &&
        strncasecmp(line, name, name_len) == 0) {
      const char *v = line + name_len + 1;
      while (v < end && (*v == ' ' || *v == '\t')) ++v;
      const char *v_end = end;
      while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t')) --v_end;
      size_t len = (size_t)(v_end - v);
      if (len >= cap) len = cap - 1;
      memcpy(value, v, len);
      value[len] = '\0';
      return true;
    }
    line = strchr(line, '\n');
  }
  return false;
}

/* A Last-Event-ID the counter can continue from: 1 to 18 digits. */
static bool parse_counter(const char *text, uint64_t *value) {
  size_t len = strlen(text);
  if (len == 0 || len > 18) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < len; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (uint64_t)(text[i] - '0');
  }
  *value = v;
  return true;
}

static void utc_now_iso8601(char *buf, size_t cap) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t len = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + len, cap - len, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Encodes with the library's own encoder and sends it as one chunk. */
static bool send_event(int fd, const char *type, const char *id,
                       const char *data, int64_t retry_ms, bool comment) {
  char buf[512];
  size_t len = 0;
  int rc = ssekit_encode_event(type, type != NULL ? strlen(type) : 0, id,
                               id != NULL ? strlen(id) : 0, data,
                               data != NULL ? strlen(data) : 0, retry_ms, buf,
                               sizeof buf, &len);
  if (rc != SSEKIT_OK) return false;
  if (comment) {
    size_t more = 0;
    rc = ssekit_encode_comment("keep-alive", 10, buf + len, sizeof buf - len,
                               &more);
    if (rc != SSEKIT_OK) return false;
    len += more;
  }
  return send_chunk(fd, buf, len);
}

static void stream_events(demo_server *server, int fd, uint64_t next) {
  static const char kHead[] =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\n"
      "Transfer-Encoding: chunked\r\n"
      "Connection: close\r\n"
      "\r\n";
  if (!send_text(fd, kHead) ||
      !send_event(fd, NULL, NULL, NULL, DEMO_RETRY_MS, false))
    return;
  for (int i = 0; i < DEMO_EVENTS_PER_CONNECTION; ++i) {
    if (i > 0 && !pause_ms(server, fd, server->interval_ms)) return;
    bool comment = (i + 1) % DEMO_COMMENT_EVERY == 0;
    bool sent;
    if (i % 2 == 0) {
      char when[64];
      utc_now_iso8601(when, sizeof when);
      sent = send_event(fd, "tick", NULL, when, -1, comment);
    } else {
      char counter[24];
      snprintf(counter, sizeof counter, "%" PRIu64, next++);
      sent = send_event(fd, "count", counter, counter, -1, comment);
    }
    if (!sent) return;
  }
  /* The end of the chunked body: a clean end, after which an EventSource
   * client reconnects with the last id it saw. */
  send_text(fd, "0\r\n\r\n");
}

static void serve(demo_server *server, int fd) {
  char request[REQUEST_MAX];
  if (!read_request(server, fd, request, sizeof request)) return;

  char method[16] = "", target[256] = "";
  const char *sp = strchr(request, ' ');
  const char *sp2 = sp != NULL ? strchr(sp + 1, ' ') : NULL;
  if (sp != NULL && sp2 != NULL && (size_t)(sp - request) < sizeof method &&
      (size_t)(sp2 - sp - 1) < sizeof target) {
    memcpy(method, request, (size_t)(sp - request));
    memcpy(target, sp + 1, (size_t)(sp2 - sp - 1));
  }
  size_t path_len = strcspn(target, "?");
  char last_id[128] = "";
  bool has_last_id =
      find_header(request, "Last-Event-ID", last_id, sizeof last_id);
  if (server->log != NULL) {
    fprintf(server->log, "ssecat: demo server: %s %s%s%s%s\n", method,
            target, has_last_id ? " (Last-Event-ID: " : "", last_id,
            has_last_id ? ")" : "");
    fflush(server->log);
  }

  if (method[0] == '\0') {
    send_text(fd,
              "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
              "Connection: close\r\n\r\n");
    return;
  }
  if (path_len != 1 || target[0] != '/') {
    send_text(fd,
              "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
              "Content-Length: 10\r\nConnection: close\r\n\r\nnot found\n");
    return;
  }
  uint64_t resume = 0;
  if (!has_last_id || !parse_counter(last_id, &resume)) resume = 0;
  stream_events(server, fd, resume + 1);
}

/* Closes after the client has read everything: a close with unread input
 * would reset the connection and could destroy the response's tail. */
static void linger_close(demo_server *server, int fd) {
  shutdown(fd, SHUT_WR);
  int64_t deadline = now_ms() + LINGER_MS;
  while (!atomic_load(&server->stopping)) {
    int64_t left = deadline - now_ms();
    if (left <= 0) break;
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, (int)left) <= 0) break;
    char scratch[512];
    if (recv(fd, scratch, sizeof scratch, 0) <= 0) break;
  }
}

static void *connection_main(void *arg) {
  struct demo_conn *conn = arg;
  demo_server *server = conn->server;
  serve(server, conn->fd);
  linger_close(server, conn->fd);
  pthread_mutex_lock(&server->mu);
  close(conn->fd);
  conn->fd = -1;
  conn->state = CONN_DONE;
  pthread_mutex_unlock(&server->mu);
  return NULL;
}

/* A free slot for a new connection, joining finished threads on the way.
 * NULL when all are busy. Called with the lock held. */
static struct demo_conn *take_slot(demo_server *server) {
  for (size_t i = 0; i < DEMO_MAX_CONNECTIONS; ++i) {
    struct demo_conn *conn = &server->conns[i];
    if (conn->state == CONN_DONE) {
      /* The thread has done its last locked step; it only returns now. */
      pthread_join(conn->thread, NULL);
      conn->state = CONN_FREE;
    }
    if (conn->state == CONN_FREE) return conn;
  }
  return NULL;
}

static void *acceptor_main(void *arg) {
  demo_server *server = arg;
  for (;;) {
    struct pollfd pfds[2] = {{server->listen_fd, POLLIN, 0},
                             {server->wake[0], POLLIN, 0}};
    if (poll(pfds, 2, -1) < 0 && errno != EINTR) break;
    if (atomic_load(&server->stopping) || pfds[1].revents != 0) break;
    if (pfds[0].revents == 0) continue;

    int fd = accept(server->listen_fd, NULL, NULL);
    if (fd < 0) {
      /* Out of descriptors: back off instead of spinning on poll. */
      if (errno == EMFILE || errno == ENFILE) poll(NULL, 0, 100);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    pthread_mutex_lock(&server->mu);
    struct demo_conn *conn = take_slot(server);
    if (conn != NULL) {
      conn->fd = fd;
      conn->state = CONN_RUNNING;
    }
    pthread_mutex_unlock(&server->mu);
    if (conn == NULL) {
      send_text(fd,
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n");
      close(fd);
      continue;
    }
    if (pthread_create(&conn->thread, NULL, connection_main, conn) != 0) {
      pthread_mutex_lock(&server->mu);
      close(fd);
      conn->fd = -1;
      conn->state = CONN_FREE;
      pthread_mutex_unlock(&server->mu);
    }
  }
  return NULL;
}

static int listen_on(uint16_t port, int *fd_out, uint16_t *port_out) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return errno;
  int one = 1;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t addr_len = sizeof addr;
  int flags;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      listen(fd, 64) != 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0 ||
      (flags = fcntl(fd, F_GETFL)) < 0 ||
      fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    int err = errno;
    close(fd);
    return err;
  }
  *fd_out = fd;
  *port_out = ntohs(addr.sin_port);
  return 0;
}

int demo_server_start(uint16_t port, uint32_t interval_ms, FILE *log,
                      demo_server **out) {
  demo_server *server = calloc(1, sizeof *server);
  if (server == NULL) return ENOMEM;
  server->interval_ms = interval_ms;
  server->log = log;
  atomic_init(&server->stopping, false);
  for (size_t i = 0; i < DEMO_MAX_CONNECTIONS; ++i) {
    server->conns[i].server = server;
    server->conns[i].fd = -1;
    server->conns[i].state = CONN_FREE;
  }
  int err = listen_on(port, &server->listen_fd, &server->port);
  if (err != 0) {
    free(server);
    return err;
  }
  if (pipe(server->wake) != 0) {
    err = errno;
    close(server->listen_fd);
    free(server);
    return err;
  }
  pthread_mutex_init(&server->mu, NULL);
  err = pthread_create(&server->acceptor, NULL, acceptor_main, server);
  if (err != 0) {
    pthread_mutex_destroy(&server->mu);
    close(server->wake[0]);
    close(server->wake[1]);
    close(server->listen_fd);
    free(server);
    return err;
  }
  *out = server;
  return 0;
}

uint16_t demo_server_port(const demo_server *server) { return server->port; }

void demo_server_stop(demo_server *server) {
  if (server == NULL) return;
  atomic_store(&server->stopping, true);
  char byte = 0;
  ssize_t ignored = write(server->wake[1], &byte, 1);
  (void)ignored;
  pthread_join(server->acceptor, NULL);
  close(server->listen_fd);

  /* Wakes connection threads blocked in poll or send; each then closes its
   * own descriptor, under the lock, so none is shut down after reuse. */
  bool started[DEMO_MAX_CONNECTIONS];
  pthread_mutex_lock(&server->mu);
  for (size_t i = 0; i < DEMO_MAX_CONNECTIONS; ++i) {
    struct demo_conn *conn = &server->conns[i];
    started[i] = conn->state != CONN_FREE;
    if (conn->state == CONN_RUNNING && conn->fd >= 0)
      shutdown(conn->fd, SHUT_RDWR);
  }
  pthread_mutex_unlock(&server->mu);
  for (size_t i = 0; i < DEMO_MAX_CONNECTIONS; ++i)
    if (started[i]) pthread_join(server->conns[i].thread, NULL);

  pthread_mutex_destroy(&server->mu);
  close(server->wake[0]);
  close(server->wake[1]);
  free(server);
}
