// The pure parser, bound as a class: feed(string | Uint8Array), finish(),
// reset(), lastEventId(). Callbacks run synchronously inside feed and
// finish. JS thread only.
#include <string>

#include "addon.h"

namespace ssekit_node {

namespace {

class Parser : public Napi::ObjectWrap<Parser> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeParser",
                       {InstanceMethod<&Parser::Feed>("feed"),
                        InstanceMethod<&Parser::Finish>("finish"),
                        InstanceMethod<&Parser::Reset>("reset"),
                        InstanceMethod<&Parser::LastEventId>("lastEventId")});
  }

  // new NativeParser(onEvent(type, data, id), onComment(text), onRetry(ms),
  //                  maxLine, maxEvent)
  explicit Parser(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Parser>(info) {
    parser_ = ssekit_parser_new();
    if (parser_ == nullptr) throw Napi::Error::New(info.Env(), "ssekit: out of memory");
    ssekit_parser_set_userdata(parser_, this);
    if (info[0].IsFunction()) {
      on_event_ = Napi::Weak(info[0].As<Napi::Function>());
      ssekit_parser_on_event(parser_, OnEvent);
    }
    if (info[1].IsFunction()) {
      on_comment_ = Napi::Weak(info[1].As<Napi::Function>());
      ssekit_parser_on_comment(parser_, OnComment);
    }
    if (info[2].IsFunction()) {
      on_retry_ = Napi::Weak(info[2].As<Napi::Function>());
      ssekit_parser_on_retry(parser_, OnRetry);
    }
    if (info[3].IsNumber()) ssekit_parser_set_max_line(parser_, info[3].As<Napi::Number>().Int64Value());
    if (info[4].IsNumber()) ssekit_parser_set_max_event(parser_, info[4].As<Napi::Number>().Int64Value());
  }

  ~Parser() override { ssekit_parser_free(parser_); }

 private:
  template <typename F>
  static int Guard(void *userdata, F f) {
    auto *self = static_cast<Parser *>(userdata);
    try {
      f(self, self->Env());
      return 0;
    } catch (const Napi::Error &e) {
      self->pending_ = Napi::Reference<Napi::Value>::New(Napi::Value(e.Value()), 1);
      return 1;
    }
  }

  static int OnEvent(const ssekit_event *ev, void *userdata) {
    return Guard(userdata, [ev](Parser *self, Napi::Env env) {
      self->on_event_.Call({Napi::String::New(env, ev->type, ev->type_len),
                            Napi::String::New(env, ev->data, ev->data_len),
                            Napi::String::New(env, ev->id, ev->id_len)});
    });
  }
  static int OnComment(const char *text, size_t len, void *userdata) {
    return Guard(userdata, [text, len](Parser *self, Napi::Env env) {
      self->on_comment_.Call({Napi::String::New(env, text, len)});
    });
  }
  static int OnRetry(uint64_t ms, void *userdata) {
    return Guard(userdata, [ms](Parser *self, Napi::Env env) {
      self->on_retry_.Call({Napi::Number::New(env, static_cast<double>(ms))});
    });
  }

  Napi::Value Result(Napi::Env env, int rc) {
    if (rc == SSEKIT_E_CALLBACK && !pending_.IsEmpty()) {
      // The callback's own exception, as if it had been thrown here; the
      // parser is left reset so it can be used again.
      Napi::Value e = pending_.Value();
      pending_.Reset();
      ssekit_parser_reset(parser_);
      throw Napi::Error(env, e);
    }
    if (rc != SSEKIT_OK) {
      Napi::Error e = Napi::Error::New(env, ssekit_parser_error_message(parser_));
      e.Set("errno", Napi::Number::New(env, rc));
      throw e;
    }
    return env.Undefined();
  }

  Napi::Value Feed(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    NotInCallback(env, "feed");
    // Copied first: a callback may detach or shrink the caller's buffer
    // (a transfer) while the parser still reads it.
    std::string bytes;
    if (info[0].IsTypedArray()) {
      auto a = info[0].As<Napi::TypedArray>();
      const auto *base = static_cast<const char *>(a.ArrayBuffer().Data());
      bytes.assign(base + a.ByteOffset(), a.ByteLength());
    } else {
      bytes = info[0].ToString().Utf8Value();
    }
    in_callback_ = true;
    const int rc = ssekit_parser_feed(parser_, bytes.data(), bytes.size());
    in_callback_ = false;
    return Result(env, rc);
  }

  Napi::Value Finish(const Napi::CallbackInfo &info) {
    NotInCallback(info.Env(), "finish");
    in_callback_ = true;
    const int rc = ssekit_parser_finish(parser_);
    in_callback_ = false;
    return Result(info.Env(), rc);
  }

  // The parser runs the callbacks from inside feed and finish, and may not
  // be entered again from them.
  void NotInCallback(Napi::Env env, const char *what) {
    if (in_callback_)
      throw Napi::Error::New(env, std::string("ssekit: Parser.") + what +
                                      "() called from one of the parser's own callbacks");
  }

  Napi::Value Reset(const Napi::CallbackInfo &info) {
    NotInCallback(info.Env(), "reset");
    pending_.Reset();
    ssekit_parser_reset(parser_);
    return info.Env().Undefined();
  }

  Napi::Value LastEventId(const Napi::CallbackInfo &info) {
    size_t len = 0;
    const char *id = ssekit_parser_last_event_id(parser_, &len);
    return Napi::String::New(info.Env(), id, len);
  }

  ssekit_parser *parser_ = nullptr;
  Napi::FunctionReference on_event_, on_comment_, on_retry_;
  Napi::Reference<Napi::Value> pending_;
  bool in_callback_ = false;  // inside ssekit_parser_feed or _finish
};

}  // namespace

void InitParser(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeParser", Parser::Define(env));
}

}  // namespace ssekit_node
