// ssekit.EventSource's native half: one ssekit_stream delivering to its own
// ssekit_queue. Python threads call every method with the GIL held; the GIL
// is released around each call into the client that may wait or lock, so a
// hook waiting for the GIL on the loop thread can always finish. The loop
// thread enters Python only in the headers hook (headers_trampoline).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "event.h"
#include "ssekit.h"

namespace py = pybind11;

namespace ssekit_py {
namespace {

class Stream;

// Streams by id, guarded by the GIL. The loop thread's hook gets an id, not
// a pointer, so a stream freed while its hook waited for the GIL is simply
// not found.
std::unordered_map<uint64_t, Stream *> g_streams;
uint64_t g_next_id = 1;
// Set at interpreter exit: from then on the loop thread never asks for the
// GIL. g_in_hook counts hooks that passed that check.
std::atomic<bool> g_exiting{false};
std::atomic<int> g_in_hook{0};
bool finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

// Releases the GIL for its lifetime, like py::gil_scoped_release, but does
// not take it back once the interpreter is being finalized: the thread (a
// daemon thread, the only kind still running then) parks until the
// process ends. Taking the GIL then ends the thread by unwinding it, which
// a noexcept destructor would turn into an abort; should finalization
// begin between the check and the call, this one lets the unwinding pass.
class Unlocked {
 public:
  Unlocked() : state_(PyEval_SaveThread()) {}
  ~Unlocked() noexcept(false) {
    if (finalizing()) {
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    }
    PyEval_RestoreThread(state_);
  }
  Unlocked(const Unlocked &) = delete;
  Unlocked &operator=(const Unlocked &) = delete;

 private:
  PyThreadState *state_;
};

// Returned by a Python headers function that will answer later. A bare
// reference, never released: it must outlive the interpreter's last use.
PyObject *g_defer = nullptr;

void check(int rc, const char *what) {
  if (rc == SSEKIT_OK) return;
  if (rc == SSEKIT_E_STATE)
    throw py::value_error(std::string(what) + ": the stream has already started");
  if (rc == SSEKIT_E_NOMEM) throw std::bad_alloc();
  throw py::value_error(std::string(what) + ": " + ssekit_strerror(rc));
}

py::list header_list(const ssekit_failure *f) {
  py::list out;
  const size_t n = ssekit_failure_header_count(f);
  for (size_t i = 0; i < n; ++i) {
    const char *name = nullptr;
    const char *value = nullptr;
    if (ssekit_failure_header_at(f, i, &name, &value) == SSEKIT_OK)
      out.append(py::make_tuple(py::str(name), py::str(value)));
  }
  return out;
}

py::list header_list(const ssekit_response *r) {
  py::list out;
  const size_t n = ssekit_response_header_count(r);
  for (size_t i = 0; i < n; ++i) {
    const char *name = nullptr;
    const char *value = nullptr;
    if (ssekit_response_header_at(r, i, &name, &value) == SSEKIT_OK)
      out.append(py::make_tuple(py::str(name), py::str(value)));
  }
  return out;
}

class Stream {
 public:
  Stream(const std::string &url, size_t max_items, size_t max_bytes) {
    s_ = ssekit_stream_new(url.c_str());
    if (s_ == nullptr) throw std::bad_alloc();
    q_ = ssekit_queue_new(max_items, max_bytes);
    if (q_ == nullptr) {
      ssekit_stream_free(s_);
      throw std::bad_alloc();
    }
    id_ = g_next_id++;
    check(ssekit_stream_set_queue(s_, q_), "queue");
    check(ssekit_stream_set_userdata(s_, reinterpret_cast<void *>(static_cast<uintptr_t>(id_))),
          "userdata");
    g_streams.emplace(id_, this);
  }
  ~Stream() {
    g_streams.erase(id_);
    release();
    if (batch_ != nullptr) ssekit_batch_free(batch_);
    ssekit_queue_free(q_);
  }
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;

  // Options, by the C setter's name without "ssekit_stream_set_".
  void set_u64(const std::string &name, uint64_t v) {
    ssekit_stream *s = live();
    using Setter = int (*)(ssekit_stream *, uint64_t);
    static const std::unordered_map<std::string, Setter> setters = {
        {"initial_delay", ssekit_stream_set_initial_delay},
        {"min_delay", ssekit_stream_set_min_delay},
        {"max_delay", ssekit_stream_set_max_delay},
        {"reset_after", ssekit_stream_set_reset_after},
        {"max_retry_after", ssekit_stream_set_max_retry_after},
        {"max_retry_time", ssekit_stream_set_max_retry_time},
        {"connect_timeout", ssekit_stream_set_connect_timeout},
        {"read_timeout", ssekit_stream_set_read_timeout},
        {"event_timeout", ssekit_stream_set_event_timeout},
    };
    auto it = setters.find(name);
    if (it != setters.end()) return check(it->second(s, v), name.c_str());
    if (name == "max_attempts")
      return check(ssekit_stream_set_max_attempts(s, static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX))),
                   "max_attempts");
    if (name == "max_redirects")
      return check(ssekit_stream_set_max_redirects(s, static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX))),
                   "max_redirects");
    if (name == "max_line") return check(ssekit_stream_set_max_line(s, static_cast<size_t>(v)), "max_line");
    if (name == "max_event") return check(ssekit_stream_set_max_event(s, static_cast<size_t>(v)), "max_event");
    if (name == "on_end") return check(ssekit_stream_set_on_end(s, static_cast<int>(v)), "on_end");
    throw py::key_error(name);
  }
  void set_flag(const std::string &name, bool on) {
    ssekit_stream *s = live();
    using Setter = int (*)(ssekit_stream *, int);
    static const std::unordered_map<std::string, Setter> setters = {
        {"strict", ssekit_stream_set_strict},
        {"fail_first", ssekit_stream_set_fail_first},
        {"reconnect", ssekit_stream_set_reconnect},
        {"ack_errors", ssekit_stream_set_ack_errors},
        {"dispatch_unterminated", ssekit_stream_set_dispatch_unterminated},
        {"dedupe", ssekit_stream_set_dedupe},
        {"redirect_headers", ssekit_stream_set_redirect_headers},
        {"insecure_redirects", ssekit_stream_set_insecure_redirects},
        {"insecure", ssekit_stream_set_insecure},
    };
    auto it = setters.find(name);
    if (it == setters.end()) throw py::key_error(name);
    check(it->second(s, on ? 1 : 0), name.c_str());
  }
  void set_str(const std::string &name, const std::string &v) {
    ssekit_stream *s = live();
    using Setter = int (*)(ssekit_stream *, const char *);
    static const std::unordered_map<std::string, Setter> setters = {
        {"method", ssekit_stream_set_method},
        {"last_event_id_param", ssekit_stream_set_last_event_id_param},
        {"done_sentinel", ssekit_stream_set_done_sentinel},
        {"ca_file", ssekit_stream_set_ca_file},
        {"ca_path", ssekit_stream_set_ca_path},
        {"proxy", ssekit_stream_set_proxy},
        {"cookie_file", ssekit_stream_set_cookie_file},
    };
    if (name == "last_event_id")
      return check(ssekit_stream_set_last_event_id(s, v.data(), v.size()), "last_event_id");
    auto it = setters.find(name);
    if (it == setters.end()) throw py::key_error(name);
    check(it->second(s, v.c_str()), name.c_str());
  }
  void set_body(const py::bytes &body) {
    std::string_view b = body;
    check(ssekit_stream_set_body(live(), b.data(), b.size()), "body");
  }
  void set_error_body(size_t max_bytes, uint64_t timeout_ms) {
    check(ssekit_stream_set_error_body(live(), max_bytes, timeout_ms), "error_body");
  }
  void set_client_cert(const std::string &cert, const std::optional<std::string> &key) {
    check(ssekit_stream_set_client_cert(live(), cert.c_str(), key ? key->c_str() : nullptr),
          "client_cert");
  }
  void add_header(const std::string &name, const std::string &value) {
    check(ssekit_stream_add_header(live(), name.c_str(), value.c_str()), "header");
  }
  // Any time: from the next connection on.
  void set_header(const std::string &name, const std::optional<std::string> &value) {
    ssekit_stream *s = live();
    Use use(*this);
    int rc;
    {
      Unlocked nogil;
      rc = ssekit_stream_set_header(s, name.c_str(), value ? value->c_str() : nullptr);
    }
    if (rc == SSEKIT_E_INVALID) throw py::value_error("invalid header name or value: " + name);
    check(rc, "header");
  }
  // fn() -> list of (name, value) pairs, or DEFER; called on the loop
  // thread before each connection attempt.
  void set_headers_hook(py::object fn) {
    check(ssekit_stream_on_headers(live(), fn.is_none() ? nullptr : &headers_trampoline), "headers");
    hook_ = std::move(fn);
  }
  // The answer to a hook that returned DEFER: pairs to connect with, or
  // None to fail the stream.
  // ValueError, after failing the attempt, for a header that cannot be sent.
  void resume_headers(const std::optional<std::vector<std::pair<std::string, std::string>>> &headers) {
    if (s_ == nullptr) return;  // released while the function ran
    ssekit_stream *s = s_;
    Use use(*this);
    const std::string *bad = nullptr;
    {
      Unlocked nogil;
      if (headers) {
        for (const auto &h : *headers) {
          if (ssekit_stream_set_header(s, h.first.c_str(), h.second.c_str()) != SSEKIT_OK) {
            bad = &h.first;
            break;
          }
        }
      }
      ssekit_stream_resume_headers(s, headers && bad == nullptr ? 1 : 0);
    }
    if (bad != nullptr) throw py::value_error("invalid header from the headers function: " + *bad);
  }
  py::object hook_error() {
    py::object e = hook_error_;
    hook_error_ = py::none();
    return e;
  }

  void start() {
    ssekit_stream *s = live();
    Use use(*this);
    int rc;
    {
      Unlocked nogil;
      rc = ssekit_stream_start(s);
    }
    check(rc, "start");
  }
  // Waits for the loop to stop the stream; the GIL is released meanwhile.
  void close() { without_gil(ssekit_stream_close); }
  // Never waits: for finalizers and interpreter exit. The handle is gone
  // afterwards.
  void release() {
    if (s_ == nullptr) return;
    if (busy_ != 0) {
      release_pending_ = true;
      return;
    }
    release_pending_ = false;
    // What the getters report from now on.
    for (int m = 0; m < kMetrics; ++m) metrics_[m] = ssekit_stream_metric(s_, m);
    last_id_ = last_event_id();
    ssekit_stream_release(s_);
    s_ = nullptr;
  }
  bool restart() { return without_gil(ssekit_stream_restart) == SSEKIT_OK; }
  // The error handlers ran and left the stream open: it may reconnect.
  void ack_error() { without_gil(ssekit_stream_ack_error); }
  void pause() { without_gil(ssekit_stream_pause); }
  void resume() { without_gil(ssekit_stream_resume); }

  // fn(handle) with the GIL released, the handle kept from being freed
  // meanwhile; SSEKIT_E_STATE once the stream was released.
  int without_gil(int (*fn)(ssekit_stream *)) {
    if (s_ == nullptr) return SSEKIT_E_STATE;
    ssekit_stream *s = s_;
    Use use(*this);
    Unlocked nogil;
    return fn(s);
  }

  int state() const { return s_ == nullptr ? SSEKIT_STATE_CLOSED : ssekit_stream_state(s_); }
  uint64_t metric(int m) const {
    if (s_ != nullptr) return ssekit_stream_metric(s_, m);
    return m >= 0 && m < kMetrics ? metrics_[m] : 0;
  }
  py::str last_event_id() const {
    if (s_ == nullptr) return last_id_;
    std::string buf(64, '\0');
    size_t len = 0;
    int rc = ssekit_stream_last_event_id(s_, buf.data(), buf.size(), &len);
    if (rc == SSEKIT_E_BUFFER_TOO_SMALL) {
      buf.resize(len);
      rc = ssekit_stream_last_event_id(s_, buf.data(), buf.size(), &len);
    }
    if (rc != SSEKIT_OK) return py::str("");
    return py::reinterpret_steal<py::str>(str_from(std::string_view(buf.data(), len)));
  }
  int fd() const { return ssekit_queue_fd(q_); }

  // (events, control): the events queued before the next item that is not
  // an event, and that item as a tuple (or None). Waits up to timeout
  // seconds (negative: forever) for at least one of them, in slices, so a
  // signal handler (Ctrl-C) runs within 50 ms.
  py::tuple take(double timeout) {
    using Clock = std::chrono::steady_clock;
    // A queue inherited through fork() never delivers in the child. (Not
    // ssekit_queue_fd(): asking for the descriptor makes every push keep
    // it in step, which only the asyncio path needs.)
    if (getpid() != pid_)
      throw std::runtime_error("this stream belongs to the process that forked this one; "
                               "open a new one here");
    const bool forever = timeout < 0;
    const auto deadline = Clock::now() + std::chrono::microseconds(
        forever ? 0 : static_cast<int64_t>(std::min(timeout, 1e9) * 1e6));
    py::list events = py::reinterpret_steal<py::list>(PyList_New(0));
    if (!events) throw py::error_already_set();
    for (;;) {
      if (batch_ == nullptr) {
        ssekit_batch *b = nullptr;
        ssekit_queue_take(q_, 0, &b);  // no wait: safe with the GIL held
        if (b == nullptr && PyList_GET_SIZE(events.ptr()) == 0) {
          for (;;) {
            int64_t slice = 50;
            if (!forever) {
              const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - Clock::now()).count();
              if (left <= 0) break;
              slice = std::min<int64_t>(slice, left);
            }
            {
              Unlocked nogil;
              ssekit_queue_take(q_, slice, &b);
            }
            if (b != nullptr) break;
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
          }
        }
        if (b == nullptr) return py::make_tuple(events, py::none());
        batch_ = b;
        cursor_ = 0;
      }
      py::object control = drain(events.ptr());
      if (!control.is_none() || PyList_GET_SIZE(events.ptr()) != 0)
        return py::make_tuple(events, control);
    }
  }

 private:
  ssekit_stream *live() const {
    if (s_ == nullptr) throw py::value_error("the stream was released");
    return s_;
  }

  // Converts batch_ from cursor_ on into events, up to the first control
  // item, which it returns (None when the batch ran out).
  py::object drain(PyObject *events) {
    const size_t n = ssekit_batch_count(batch_);
    py::object control = py::none();
    while (cursor_ < n && control.is_none()) {
      const ssekit_item *it = ssekit_batch_item(batch_, cursor_++);
      switch (it->kind) {
        case SSEKIT_ITEM_EVENT: {
          PyObject *ev = builder_.build(std::string_view(it->type, it->type_len),
                                        std::string_view(it->data, it->data_len),
                                        std::string_view(it->id, it->id_len));
          if (ev == nullptr) throw py::error_already_set();
          const int rc = PyList_Append(events, ev);
          Py_DECREF(ev);
          if (rc < 0) throw py::error_already_set();
          break;
        }
        case SSEKIT_ITEM_RETRY:
          builder_.set_pending_retry(it->value);
          break;
        case SSEKIT_ITEM_OPEN:
          control = py::make_tuple("open", ssekit_response_status(it->response),
                                   header_list(it->response));
          break;
        case SSEKIT_ITEM_COMMENT:
          control = py::make_tuple("comment", py::reinterpret_steal<py::str>(
                                                  str_from(std::string_view(it->data, it->data_len))));
          break;
        case SSEKIT_ITEM_ERROR: {
          size_t body_len = 0;
          const char *body = ssekit_failure_body(it->failure, &body_len);
          control = py::make_tuple(
              "error", it->code, it->status, py::str(ssekit_failure_message(it->failure)),
              it->will_retry != 0, it->value, header_list(it->failure),
              py::bytes(body, body_len));
          break;
        }
        case SSEKIT_ITEM_CLOSED:
          control = py::make_tuple("closed", it->code);
          break;
        default:
          break;  // STATE: the state getter is read instead
      }
    }
    if (cursor_ >= n) {
      ssekit_batch_free(batch_);
      batch_ = nullptr;
    }
    return control;
  }

  // Loop thread. Asks the Python headers function for this attempt's
  // headers, unless the interpreter is exiting (then the attempt fails).
  static int headers_trampoline(ssekit_headers *h, void *userdata) {
    const auto id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(userdata));
    ++g_in_hook;
    if (g_exiting.load()) {
      --g_in_hook;
      return 1;
    }
    int rc = 1;
    {
      py::gil_scoped_acquire gil;
      auto found = g_streams.find(id);
      if (found != g_streams.end()) rc = found->second->call_hook(h);
    }
    --g_in_hook;
    return rc;
  }
  int call_hook(ssekit_headers *h) {
    try {
      py::object r = hook_();
      if (r.ptr() == g_defer) return ssekit_stream_defer_headers(s_) == SSEKIT_OK ? 0 : 1;
      for (auto item : r) {
        auto pair = item.cast<std::pair<std::string, std::string>>();
        if (ssekit_headers_set(h, pair.first.c_str(), pair.second.c_str()) != SSEKIT_OK)
          throw py::value_error("invalid header from the headers function: " + pair.first);
      }
      return 0;
    } catch (py::error_already_set &e) {
      hook_error_ = e.value();
      return 1;
    } catch (const std::exception &e) {
      hook_error_ = py::module_::import("builtins").attr("ValueError")(e.what());
      return 1;
    }
  }

  static constexpr int kMetrics = 7;
  ssekit_stream *s_ = nullptr;
  ssekit_queue *q_ = nullptr;
  uint64_t metrics_[kMetrics] = {};
  py::str last_id_ = py::str("");
  uint64_t id_ = 0;
  pid_t pid_ = getpid();  // the process that made the stream
  int busy_ = 0;  // calls in progress without the GIL that use s_
  bool release_pending_ = false;

  // Held by a method that uses s_ without the GIL: a release() meanwhile
  // (another thread, a finalizer) happens when the last such call ends.
  class Use {
   public:
    explicit Use(Stream &s) : s_(s) { ++s_.busy_; }
    ~Use() {
      if (--s_.busy_ == 0 && s_.release_pending_) s_.release();
    }
    Use(const Use &) = delete;
    Use &operator=(const Use &) = delete;

   private:
    Stream &s_;
  };
  ssekit_batch *batch_ = nullptr;
  size_t cursor_ = 0;
  EventBuilder builder_;
  py::object hook_ = py::none();
  py::object hook_error_ = py::none();

  friend void release_all();
};

}  // namespace

// At interpreter exit (atexit, before finalization): keeps the loop thread
// out of Python from now on, lets hooks already inside finish, and releases
// every stream so no loop works for an interpreter that is gone.
void release_all() {
  g_exiting = true;
  {
    // A hook already in Python must be out before finalization, or taking
    // the GIL back there would end the loop thread. As for non-daemon
    // threads, there is no time limit.
    Unlocked nogil;
    while (g_in_hook.load() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (auto &entry : g_streams) entry.second->release();
}

void register_stream(py::module_ &m) {
  g_defer = py::module_::import("builtins").attr("object")().release().ptr();
  m.attr("DEFER") = py::reinterpret_borrow<py::object>(g_defer);
  py::class_<Stream>(m, "Stream")
      .def(py::init<const std::string &, size_t, size_t>(), py::arg("url"),
           py::arg("max_items"), py::arg("max_bytes"))
      .def("set_u64", &Stream::set_u64)
      .def("set_flag", &Stream::set_flag)
      .def("set_str", &Stream::set_str)
      .def("set_body", &Stream::set_body)
      .def("set_error_body", &Stream::set_error_body)
      .def("set_client_cert", &Stream::set_client_cert)
      .def("add_header", &Stream::add_header)
      .def("set_header", &Stream::set_header)
      .def("set_headers_hook", &Stream::set_headers_hook)
      .def("resume_headers", &Stream::resume_headers)
      .def("hook_error", &Stream::hook_error)
      .def("start", &Stream::start)
      .def("close", &Stream::close)
      .def("release", &Stream::release)
      .def("restart", &Stream::restart)
      .def("pause", &Stream::pause)
      .def("ack_error", &Stream::ack_error)
      .def("resume", &Stream::resume)
      .def("state", &Stream::state)
      .def("metric", &Stream::metric)
      .def("last_event_id", &Stream::last_event_id)
      .def("fd", &Stream::fd)
      .def("take", &Stream::take);
  m.def("_release_all", &release_all);
  // In a fork child no thread of the parent's exists, not even one that
  // was waiting for the GIL in a hook.
  m.def("_after_fork", [] { g_in_hook = 0; });
}

}  // namespace ssekit_py
