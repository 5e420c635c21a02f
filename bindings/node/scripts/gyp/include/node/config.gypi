# Read by node-gyp instead of the running Node's build configuration (see
# common.gypi beside this file).
{
  'target_defaults': {},
  'variables': {
    'node_engine': 'v8',
  },
}
