#!/usr/bin/env python3
"""Checks the shared library's ABI against the header and capi/ssekit.map.

  check_abi.py --header H --library L symbols --map M
  check_abi.py --header H --library L old-library --cc CC --program C

symbols: every SSEKIT_EXTERN function of the header is exported, nothing
else is, and each under the version node of the release that added it.
old-library: a program that calls a 0.2 function needs SSEKIT_0.2, and a
library that only defines 0.1's node refuses to load it.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

# The functions of every released node, frozen when the release was made and
# never edited afterwards: the map is checked against them, so that moving a
# published function to another node, or adding one to a released node,
# fails here and not in users' programs.
RELEASED = {
    "SSEKIT_0": (  # 0.1
        "ssekit_strerror", "ssekit_version", "ssekit_version_num",
        "ssekit_parser_new", "ssekit_parser_free",
        "ssekit_parser_set_userdata", "ssekit_parser_on_event",
        "ssekit_parser_on_comment", "ssekit_parser_on_retry",
        "ssekit_parser_set_max_line", "ssekit_parser_set_max_event",
        "ssekit_parser_feed", "ssekit_parser_finish", "ssekit_parser_reset",
        "ssekit_parser_last_event_id", "ssekit_parser_error_message",
        "ssekit_encode_event", "ssekit_encode_comment", "ssekit_loop_new",
        "ssekit_loop_free", "ssekit_stream_new", "ssekit_stream_free",
        "ssekit_stream_set_loop", "ssekit_stream_set_userdata",
        "ssekit_stream_set_method", "ssekit_stream_set_body",
        "ssekit_stream_add_header", "ssekit_stream_set_last_event_id",
        "ssekit_stream_set_last_event_id_param",
        "ssekit_stream_set_initial_delay", "ssekit_stream_set_max_delay",
        "ssekit_stream_set_reset_after", "ssekit_stream_set_max_attempts",
        "ssekit_stream_set_max_retry_time", "ssekit_stream_set_strict",
        "ssekit_stream_set_connect_timeout", "ssekit_stream_set_read_timeout",
        "ssekit_stream_set_on_end", "ssekit_stream_set_done_sentinel",
        "ssekit_stream_set_dedupe", "ssekit_stream_set_max_line",
        "ssekit_stream_set_max_event", "ssekit_stream_set_insecure",
        "ssekit_stream_set_ca_file", "ssekit_stream_set_ca_path",
        "ssekit_stream_set_client_cert", "ssekit_stream_set_proxy",
        "ssekit_stream_set_cookie_file", "ssekit_stream_set_max_redirects",
        "ssekit_stream_on_open", "ssekit_stream_on_event",
        "ssekit_stream_add_listener", "ssekit_stream_on_comment",
        "ssekit_stream_on_retry", "ssekit_stream_on_error",
        "ssekit_stream_on_state", "ssekit_stream_on_closed",
        "ssekit_stream_on_headers", "ssekit_stream_on_auth",
        "ssekit_stream_start", "ssekit_stream_close", "ssekit_stream_restart",
        "ssekit_stream_pause", "ssekit_stream_resume", "ssekit_stream_state",
        "ssekit_stream_metric", "ssekit_stream_last_event_id",
        "ssekit_stream_url", "ssekit_response_status",
        "ssekit_response_header", "ssekit_response_header_count",
        "ssekit_response_header_at", "ssekit_headers_set",
    ),
}

SONAME = "libssekit.so.0"

# 0.1's node has no minor version in its name; later releases' nodes do.
NODE_OF_RELEASE = {(0, 1): "SSEKIT_0"}

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message, file=sys.stderr)


def readelf(*args):
    return subprocess.run(["readelf"] + list(args), check=True,
                          stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


def strip_c_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def header_functions(path):
    """The SSEKIT_EXTERN function names, in header order, and the version."""
    with open(path, encoding="utf-8") as f:
        text = strip_c_comments(f.read())
    names = []
    for decl in re.findall(r"^[ \t]*SSEKIT_EXTERN\b([^;]*);", text, flags=re.M):
        m = re.search(r"\b(ssekit_\w+)\s*\(", decl)
        if m is None:
            # Only functions are part of the ABI: an exported variable could
            # never grow or change type.
            fail("header: SSEKIT_EXTERN declaration that is not an ssekit_ "
                 "function: " + " ".join(decl.split()))
            continue
        names.append(m.group(1))
    version = []
    for part in ("MAJOR", "MINOR"):
        m = re.search(r"#define SSEKIT_VERSION_%s (\d+)" % part, text)
        if m is None:
            sys.exit("header: no SSEKIT_VERSION_%s" % part)
        version.append(int(m.group(1)))
    return names, tuple(version)


def map_nodes(path):
    """[(node, parent or None, [global names], [local patterns])], in order."""
    with open(path, encoding="utf-8") as f:
        text = strip_c_comments(f.read())
    nodes = []
    for name, body, parent in re.findall(
            r"([\w.]+)\s*\{(.*?)\}\s*([\w.]*)\s*;", text, flags=re.S):
        sections = {"global": [], "local": []}
        current = "global"
        for token in re.split(r"(global:|local:|;)", body):
            token = token.strip()
            if token in ("global:", "local:"):
                current = token[:-1]
            elif token and token != ";":
                sections[current].append(token)
        nodes.append((name, parent or None, sections["global"],
                      sections["local"]))
    if not nodes:
        sys.exit("map: no version node found")
    return nodes


def exported_symbols(library):
    """The symbols the library defines, {name: (version, is_default,
    versioned name)}, and apart from them the absolute symbols that only
    name its version nodes."""
    out = readelf("--dyn-syms", "-W", library)
    symbols = {}
    node_markers = set()
    for line in out.splitlines():
        fields = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(fields) < 8 or not fields[0].rstrip(":").isdigit():
            continue
        bind, ndx, full = fields[4], fields[6], fields[7]
        if ndx == "UND" or bind == "LOCAL":
            continue
        if "@@" in full:
            name, version = full.split("@@", 1)
            default = True
        elif "@" in full:
            name, version = full.split("@", 1)
            default = False
        else:
            name, version, default = full, None, False
        if ndx == "ABS" and version in (None, name):
            node_markers.add(name)
            continue
        symbols[name] = (version, default, full)
    return symbols, node_markers


def library_nodes(library):
    """[(node, parent or None)] from the library's version definitions."""
    out = readelf("-V", "-W", library)
    section = re.search(r"Version definition section.*?(?=\n\S|\Z)", out,
                        flags=re.S)
    nodes = []
    if section is None:
        return nodes
    for line in section.group(0).splitlines():
        m = re.search(r"Flags: (\S+).*Name: (\S+)", line)
        if m:
            if m.group(1) != "BASE":
                nodes.append([m.group(2), None])
            continue
        m = re.search(r"Parent \d+: (\S+)", line)
        if m and nodes:
            nodes[-1][1] = m.group(1)
    return [tuple(n) for n in nodes]


def expected_nodes(header_names, version):
    """{function: node} as the header and the frozen lists say it must be."""
    current = NODE_OF_RELEASE.get(version, "SSEKIT_%d.%d" % version)
    expected = {}
    for node, names in RELEASED.items():
        for name in names:
            expected[name] = node
            if name not in header_names:
                fail("header: %s, released in %s, is no longer declared: "
                     "nothing published is removed" % (name, node))
    for name in header_names:
        if name in expected:
            continue
        if current in RELEASED:
            fail("%s is not in any released node, and the header's version "
                 "%d.%d is released: new functions need a new minor version "
                 "and its node" % ((name,) + version))
        expected[name] = current
    return expected, current


def check_map(nodes, expected, current):
    names_in = {}
    for i, (node, parent, globals_, locals_) in enumerate(nodes):
        want_parent = nodes[i - 1][0] if i else None
        if parent != want_parent:
            fail("map: node %s inherits %s, not the node before it (%s)"
                 % (node, parent, want_parent))
        for name in globals_:
            if any(c in name for c in "*?["):
                fail("map: node %s lists the pattern %s: name functions one "
                     "by one, so that none lands in a node by accident"
                     % (node, name))
                continue
            if name in names_in:
                fail("map: %s is in both %s and %s"
                     % (name, names_in[name], node))
            names_in[name] = node
    order = list(RELEASED)
    if any(node == current for node in expected.values()):
        order.append(current)
    if [n[0] for n in nodes] != order:
        fail("map: nodes are %s, expected %s (the released nodes, then the "
             "current release's, in order)" % ([n[0] for n in nodes], order))
    if not any(locals_ == ["*"] for _, _, _, locals_ in nodes):
        fail("map: no `local: *;`, so every symbol of the C++ core would be "
             "exported")
    for node, frozen in RELEASED.items():
        listed = {name for name, n in names_in.items() if n == node}
        for name in sorted(set(frozen) - listed):
            fail("map: %s was released in %s but is not listed there"
                 % (name, node))
        for name in sorted(listed - set(frozen)):
            fail("map: %s is listed in the released node %s; new functions "
                 "go into the node of the release that adds them"
                 % (name, node))
    for name, node in sorted(expected.items()):
        if name not in names_in:
            fail("map: %s is not listed (it belongs in %s)" % (name, node))
        elif names_in[name] != node:
            fail("map: %s is in %s, expected %s" % (name, names_in[name], node))
    for name in sorted(set(names_in) - set(expected)):
        fail("map: %s is listed but not declared in the header" % name)


def check_library(library, header_names, expected, nodes):
    symbols, markers = exported_symbols(library)
    if soname(library) != SONAME:
        fail("library: SONAME %s, expected %s: a new SONAME declares an "
             "incompatible ABI" % (soname(library), SONAME))
    declared = set(header_names)
    for name in sorted(header_names):
        if name not in symbols:
            fail("library: %s is declared in the header but not exported"
                 % name)
    for name, (version, default, full) in sorted(symbols.items()):
        if not name.startswith("ssekit_"):
            fail("library: exports %s, which is not an ssekit_ symbol" % name)
        elif name not in declared:
            fail("library: exports %s, which the header does not declare"
                 % name)
        elif version != expected.get(name) or not default:
            fail("library: %s is exported as %s, expected %s@@%s"
                 % (name, full, name, expected.get(name)))
    map_view = [(n[0], n[1]) for n in nodes]
    lib_view = library_nodes(library)
    if lib_view != map_view:
        fail("library: version nodes %s, the map has %s (built with another "
             "map?)" % (lib_view, map_view))
    for marker in sorted(markers - {n[0] for n in nodes}):
        fail("library: defines version node %s, which the map does not have"
             % marker)
    return symbols


def needed_versions(binary, soname):
    out = readelf("-V", "-W", binary)
    versions = set()
    in_file = False
    for line in out.splitlines():
        m = re.search(r"File: (\S+)", line)
        if m:
            in_file = m.group(1) == soname
            continue
        m = re.search(r"Name: (\S+)", line)
        if in_file and m:
            versions.add(m.group(1))
    return versions


def soname(library):
    out = readelf("-d", "-W", library)
    m = re.search(r"\(SONAME\).*\[(.*)\]", out)
    return m.group(1) if m else None


def run(cmd, **kwargs):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kwargs)


def check_old_library(args):
    """A program built against today's header that calls a 0.2 function must
    need SSEKIT_0.2 (the verneed check) and must be refused, with the
    dynamic linker's message, by a library that defines only 0.1's node: a
    stand-in built from the frozen 0.1 list, since only its version
    definitions matter before any call."""
    library = os.path.abspath(args.library)
    name = soname(library)
    if name is None:
        fail("library: no SONAME")
        return
    include = os.path.dirname(os.path.abspath(args.header))
    with tempfile.TemporaryDirectory() as work:
        program = os.path.join(work, "uses_0_2")
        build = run([args.cc, "-std=c11", "-Wall", "-Wextra", "-Werror",
                     "-I" + include, "-o", program, args.program,
                     "-Wl,--no-as-needed", library])
        if build.returncode != 0:
            fail("could not build %s:\n%s" % (args.program, build.stderr))
            return
        needs = needed_versions(program, name)
        for node in ("SSEKIT_0", "SSEKIT_0.2"):
            if node not in needs:
                fail("program: needs %s from %s, not %s"
                     % (sorted(needs), name, node))

        ok = run([program], env=dict(os.environ,
                                     LD_LIBRARY_PATH=os.path.dirname(library)))
        if ok.returncode != 0 or ok.stdout.strip() != "ok":
            fail("program: failed against the built library (exit %d):\n%s%s"
                 % (ok.returncode, ok.stdout, ok.stderr))

        old = os.path.join(work, "old")
        os.mkdir(old)
        stub_c = os.path.join(work, "stub.c")
        stub_map = os.path.join(work, "stub.map")
        with open(stub_c, "w") as f:
            for fn in RELEASED["SSEKIT_0"]:
                f.write("void %s(void) {}\n" % fn)
        with open(stub_map, "w") as f:
            f.write("SSEKIT_0 {\n  global:\n")
            f.writelines("    %s;\n" % fn for fn in RELEASED["SSEKIT_0"])
            f.write("  local:\n    *;\n};\n")
        stub = run([args.cc, "-shared", "-fPIC", "-o", os.path.join(old, name),
                    stub_c, "-Wl,-soname," + name,
                    "-Wl,--version-script=" + stub_map])
        if stub.returncode != 0:
            fail("could not build the 0.1 stand-in:\n" + stub.stderr)
            return
        refused = run([program], env=dict(os.environ, LD_LIBRARY_PATH=old))
        message = "version `SSEKIT_0.2' not found"
        if refused.returncode == 0 or message not in refused.stderr:
            fail("program: a 0.1 library did not refuse it with \"%s\" "
                 "(exit %d):\n%s%s" % (message, refused.returncode,
                                       refused.stdout, refused.stderr))
        else:
            print("refused as expected: " + refused.stderr.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--header", required=True)
    ap.add_argument("--library", required=True)
    sub = ap.add_subparsers(dest="check", required=True)
    symbols = sub.add_parser("symbols")
    symbols.add_argument("--map", required=True)
    old = sub.add_parser("old-library")
    old.add_argument("--cc", required=True)
    old.add_argument("--program", required=True)
    args = ap.parse_args()

    if args.check == "symbols":
        header_names, version = header_functions(args.header)
        nodes = map_nodes(args.map)
        expected, current = expected_nodes(header_names, version)
        check_map(nodes, expected, current)
        symbols = check_library(args.library, header_names, expected, nodes)
        if not failures:
            print("%d functions: %s" % (len(symbols), ", ".join(
                "%d in %s" % (sum(1 for n in expected.values() if n == node),
                              node) for node, *_ in nodes)))
    else:
        check_old_library(args)
    if failures:
        print("%d ABI check(s) failed" % len(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
