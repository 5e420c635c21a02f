// ssekit.Parser's native half: ssekit_parser feeding a list of events.
// Runs with the GIL held: parsing a chunk is short and builds Python objects.
#include <pybind11/pybind11.h>

#include <string_view>

#include "event.h"
#include "ssekit.h"

namespace py = pybind11;

namespace ssekit_py {
namespace {

class Parser {
 public:
  Parser(size_t max_line, size_t max_event, py::object on_comment, py::object on_retry)
      : p_(ssekit_parser_new()), on_comment_(std::move(on_comment)), on_retry_(std::move(on_retry)) {
    if (p_ == nullptr) throw std::bad_alloc();
    ssekit_parser_set_userdata(p_, this);
    ssekit_parser_on_event(p_, &Parser::on_event);
    ssekit_parser_on_retry(p_, &Parser::on_retry);
    if (!on_comment_.is_none()) ssekit_parser_on_comment(p_, &Parser::on_comment);
    ssekit_parser_set_max_line(p_, max_line);
    ssekit_parser_set_max_event(p_, max_event);
  }
  ~Parser() { ssekit_parser_free(p_); }
  Parser(const Parser &) = delete;
  Parser &operator=(const Parser &) = delete;

  // (events, code, message): code is 0 or the error that stopped parsing.
  py::tuple feed(py::buffer data) {
    py::buffer_info info = data.request();
    // A strided view (memoryview(b)[::2]) is not its bytes laid end to end.
    if (info.ndim != 1 || info.itemsize != 1 || (info.size > 1 && info.strides[0] != 1))
      throw py::type_error("Parser.feed() takes contiguous bytes-like data (bytes, bytearray, "
                           "a contiguous memoryview)");
    const auto len = static_cast<size_t>(info.size);
    return run([&] { return ssekit_parser_feed(p_, info.ptr, len); });
  }
  py::tuple finish() {
    return run([&] { return ssekit_parser_finish(p_); });
  }
  void reset() {
    ssekit_parser_reset(p_);
    builder_.clear();
  }
  py::str last_event_id() const {
    size_t len = 0;
    const char *id = ssekit_parser_last_event_id(p_, &len);
    return py::reinterpret_steal<py::str>(str_from(std::string_view(id, len)));
  }

 private:
  template <class F>
  py::tuple run(F call) {
    PyObject *list = PyList_New(0);
    if (list == nullptr) throw py::error_already_set();
    out_ = list;
    const int rc = call();
    out_ = nullptr;
    py::list events = py::reinterpret_steal<py::list>(list);
    if (failed_) {
      failed_ = false;
      ssekit_parser_reset(p_);
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
    if (self->on_retry_.is_none()) return 0;
    return self->call(self->on_retry_, py::int_(ms));
  }

  static int on_comment(const char *text, size_t len, void *userdata) {
    auto *self = static_cast<Parser *>(userdata);
    PyObject *s = str_from(std::string_view(text, len));
    if (s == nullptr) {
      self->failed_ = true;
      return 1;
    }
    return self->call(self->on_comment_, py::reinterpret_steal<py::str>(s));
  }

  // A callback that raises stops parsing; feed() raises its exception.
  int call(const py::object &fn, const py::object &arg) {
    try {
      fn(arg);
      return 0;
    } catch (py::error_already_set &e) {
      e.restore();
    } catch (...) {
      PyErr_SetString(PyExc_RuntimeError, "ssekit: a parser callback failed");
    }
    failed_ = true;
    return 1;
  }

  ssekit_parser *p_;
  py::object on_comment_;  // None, or called with each comment's text
  py::object on_retry_;    // None, or called with each retry field's value
  EventBuilder builder_;
  PyObject *out_ = nullptr;
  bool failed_ = false;
};

}  // namespace

void register_parser(py::module_ &m) {
  py::class_<Parser>(m, "Parser")
      .def(py::init<size_t, size_t, py::object, py::object>(), py::arg("max_line"),
           py::arg("max_event"), py::arg("on_comment") = py::none(), py::arg("on_retry") = py::none())
      .def("feed", &Parser::feed)
      .def("finish", &Parser::finish)
      .def("reset", &Parser::reset)
      .def_property_readonly("last_event_id", &Parser::last_event_id);
}

}  // namespace ssekit_py
