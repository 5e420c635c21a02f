# The build settings node-gyp reads from a Node.js header directory
# (--nodedir). ssekit builds against Node-API only: the headers come from the
# node-api-headers package (see binding.gyp), so this directory holds no
# headers, only the defaults a Node-API addon needs.
{
  'variables': {
    'visibility%': 'hidden',
    'target_arch%': 'x64',
    'host_arch%': 'x64',
    'library%': 'static_library',
    'component%': 'static_library',
    'node_shared%': 'false',
    'node_module_version%': '',
    'node_with_ltcg%': 'false',
    'node_engine%': 'v8',
    'clang%': 0,
  },
  'target_defaults': {
    'default_configuration': 'Release',
    'configurations': {
      'Debug': {
        'defines': ['DEBUG', '_DEBUG'],
        'cflags': ['-g', '-O0'],
        'xcode_settings': {'GCC_OPTIMIZATION_LEVEL': '0'},
      },
      # NDEBUG as in the CMake build's Release configuration; -O2, since
      # -O3 measured no faster for the addon (scripts/bench-node.sh).
      'Release': {
        'defines': ['NDEBUG'],
        'cflags': ['-O2'],
        'xcode_settings': {'GCC_OPTIMIZATION_LEVEL': '2'},
      },
    },
    'conditions': [
      ['OS!="win"', {
        'cflags': ['-fPIC', '-pthread'],
        'ldflags': ['-pthread'],
      }],
    ],
  },
}
