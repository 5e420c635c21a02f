# Read by node-gyp instead of the running Node's build configuration (see
# common.gypi beside this file). node-gyp reads it as JSON once comments are
# gone: no trailing commas.
{
  "target_defaults": {},
  "variables": {
    "node_engine": "v8"
  }
}
