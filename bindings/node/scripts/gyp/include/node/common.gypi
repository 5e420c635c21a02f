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
      # The flags of the CMake build's Release configuration, so the core
      # runs as fast in the addon as in libssekit.
      'Release': {
        'defines': ['NDEBUG'],
        'cflags': ['-O3'],
        'xcode_settings': {'GCC_OPTIMIZATION_LEVEL': '3'},
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
