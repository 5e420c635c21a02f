{
  # The Node.js addon: ssekit's core and C API compiled in, plus the binding
  # in bindings/node/src. Built against Node-API only, with node-api-headers
  # (no Node.js or V8 headers), so one build serves every Node.js release
  # with Node-API 8. Run through bindings/node/scripts/install.js, which
  # tells node-gyp where the build settings are so that it downloads nothing.
  'targets': [
    {
      'target_name': 'ssekit',
      'sources': ['<!@(node bindings/node/scripts/gyp-sources.js)'],
      'include_dirs': [
        "<!(node -p \"require('node-api-headers').include_dir\")",
        "<!(node -p \"require('node-addon-api').include_dir\")",
        'capi/include',
        'capi/src',
        'core',
      ],
      'defines': [
        'NAPI_VERSION=8',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
        'NAPI_CPP_EXCEPTIONS',
        # A JavaScript exception that cannot be thrown (a worker being
        # terminated) is dropped instead of aborting the process.
        'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS',
        # The C API checks its header against the project's version: the
        # package's version is that version.
        "SSEKIT_CMAKE_VERSION_NUM=<!(node -p \"require('./package.json').version.split('.').reduce((a, v) => a * 256 + Number(v), 0)\")",
      ],
      'cflags!': ['-fno-exceptions'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-std=gnu++14', '-std=gnu++17'],
      'cflags': ['-fvisibility=hidden'],
      'cflags_cc': ['-std=c++17', '-fexceptions', '-frtti', '-fvisibility-inlines-hidden'],
      'conditions': [
        ['OS=="linux"', {
          'cflags': ["<!@(pkg-config --cflags libcurl 2>/dev/null || true)"],
          'libraries': ["<!@(pkg-config --libs libcurl 2>/dev/null || echo -lcurl)"],
          'ldflags': [
            '-Wl,--exclude-libs,ALL',
            '-Wl,--version-script=<(module_root_dir)/bindings/node/src/exports.map',
          ],
        }],
        ['OS=="mac"', {
          'libraries': ['-lcurl'],
          'xcode_settings': {
            'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
            'GCC_ENABLE_CPP_RTTI': 'YES',
            'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
            'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
            'MACOSX_DEPLOYMENT_TARGET': '10.15',
          },
        }],
      ],
    },
  ],
}
