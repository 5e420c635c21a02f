// ssekit.Parser's native half: ssekit_parser feeding a list of events.
// Runs with the GIL held: parsing a chunk is short and builds Python objects.
#include <pybind11/pybind11.h>

#include <string>
#include <string_view>

#include "event.h"
#include "ssekit.h"

namespace py = pybind11;

namespace ssekit_py {
namespace {

class Parser {
 public:
  Parser(size_t max_line, size_t max_event) : p_(ssekit_parser_new()) {
    if (p_ == nullptr) throw std::bad_alloc();
    ssekit_parser_set_userdata(p_, this);
    ssekit_parser_on_event(p_, &Parser::on_event);
    ssekit_parser_on_retry(p_, &Parser::on_retry);
    ssekit_parser_on_comment(p_, &Parser::on_comment);
    ssekit_parser_set_max_line(p_, max_line);
    ssekit_parser_set_max_event(p_, max_event);
  }
  ~Parser() { ssekit_parser_free(p_); }
  Parser(const Parser &) = delete;
  Parser &operator=(const Parser &) = delete;

  // (events, code, message): code is 0 or the error that stopped parsing.
  // on_comment and on_retry (None or callables) are used for this call
  // only: the parser keeps no reference to them, so a callback that refers
  // to the Python Parser makes no cycle the garbage collector cannot see.
  py::tuple feed(py::buffer data, py::object on_comment, py::object on_retry) {
    py::buffer_info info = data.request();
    // A strided view (memoryview(b)[::2]) is not its bytes laid end to end.
    if (info.ndim != 1 || info.itemsize != 1 || (info.size > 1 && info.strides[0] != 1))
      throw py::type_error("Parser.feed() takes contiguous bytes-like data (bytes, bytearray, "
                           "a contiguous memoryview)");
    const auto len = static_cast<size_t>(info.size);
    return run(on_comment, on_retry, [&] { return ssekit_parser_feed(p_, info.ptr, len); });
  }
  py::tuple finish(py::object on_comment, py::object on_retry) {
    return run(on_comment, on_retry, [&] { return ssekit_parser_finish(p_); });
  }
  void reset() {
    refuse_if_busy("reset");
    ssekit_parser_reset(p_);
    builder_.clear();
  }
  py::str last_event_id() const {
    size_t len = 0;
    const char *id = ssekit_parser_last_event_id(p_, &len);
    return py::reinterpret_steal<py::str>(str_from(std::string_view(id, len)));
  }

 private:
  // A callback runs Python, which may call back into this parser (or let
  // another thread do so): the C parser must not be re-entered.
  void refuse_if_busy(const char *what) const {
    if (busy_)
      throw py::value_error(std::string("Parser.") + what +
                            "() while the parser runs a callback (from that callback, or "
                            "another thread)");
  }

  template <class F>
  py::tuple run(const py::object &on_comment, const py::object &on_retry, F call) {
    refuse_if_busy("feed");
    PyObject *list = PyList_New(0);
    if (list == nullptr) throw py::error_already_set();
    out_ = list;
    on_comment_ = on_comment.is_none() ? nullptr : on_comment.ptr();
    on_retry_ = on_retry.is_none() ? nullptr : on_retry.ptr();
    busy_ = true;
    const int rc = call();
    busy_ = false;
    out_ = nullptr;
    on_comment_ = on_retry_ = nullptr;
    py::list events = py::reinterpret_steal<py::list>(list);
    if (failed_) {
      // The parser starts over, as after reset().
      failed_ = false;
      ssekit_parser_reset(p_);
      builder_.clear();
      throw py::error_already_set();
    }
    const char *msg = rc == SSEKIT_OK ? "" : ssekit_parser_error_message(p_);
    return py::make_tuple(events, rc, py::str(msg));
  }

  static int on_event(const ssekit_event *e, void *userdata) {
    auto *self = static_cast<Parser *>(userdata);
    PyObject *ev = self->builder_.build(std::string_view(e->type, e->type_len),
                                        std::string_view(e->data, e->data_len),
                                        std::string_view(e->id, e->id_len));
    if (ev == nullptr || PyList_Append(self->out_, ev) < 0) {
      Py_XDECREF(ev);
      self->failed_ = true;  // the Python error is set; stop parsing
      return 1;
    }
    Py_DECREF(ev);
    return 0;
  }

  static int on_retry(uint64_t ms, void *userdata) {
    auto *self = static_cast<Parser *>(userdata);
    self->builder_.set_pending_retry(ms);
    if (self->on_retry_ == nullptr) return 0;
    return self->call(self->on_retry_, PyLong_FromUnsignedLongLong(ms));
  }

  static int on_comment(const char *text, size_t len, void *userdata) {
    auto *self = static_cast<Parser *>(userdata);
    if (self->on_comment_ == nullptr) return 0;
    return self->call(self->on_comment_, str_from(std::string_view(text, len)));
  }

  // Calls fn(arg), taking arg's reference (nullptr: making it failed, the
  // Python error is set). A callback that raises stops parsing; feed()
  // raises its exception. Nothing here throws into the C parser's frames.
  int call(PyObject *fn, PyObject *arg) {
    if (arg != nullptr) {
      PyObject *r = PyObject_CallFunctionObjArgs(fn, arg, nullptr);
      Py_DECREF(arg);
      if (r != nullptr) {
        Py_DECREF(r);
        return 0;
      }
    }
    failed_ = true;
    return 1;
  }

  ssekit_parser *p_;
  EventBuilder builder_;
  PyObject *out_ = nullptr;
  PyObject *on_comment_ = nullptr;  // borrowed, during feed()/finish() only
  PyObject *on_retry_ = nullptr;    // borrowed, during feed()/finish() only
  bool busy_ = false;
  bool failed_ = false;
};

}  // namespace

void register_parser(py::module_ &m) {
  py::class_<Parser>(m, "Parser")
      .def(py::init<size_t, size_t>(), py::arg("max_line"), py::arg("max_event"))
      .def("feed", &Parser::feed, py::arg("data"), py::arg("on_comment") = py::none(),
           py::arg("on_retry") = py::none())
      .def("finish", &Parser::finish, py::arg("on_comment") = py::none(),
           py::arg("on_retry") = py::none())
      .def("reset", &Parser::reset)
      .def_property_readonly("last_event_id", &Parser::last_event_id);
}

}  // namespace ssekit_py
