// The dedupe window: what it remembers, and that its memory does not grow
// with the length of the ids a server sends.
#include <gtest/gtest.h>

#include <string>

#include "dedupe.h"

namespace ssekit {
namespace {

TEST(Dedupe, RemembersTheLastIdsOnly) {
  DedupeWindow w(3);
  EXPECT_FALSE(w.seen_or_add("a"));
  EXPECT_TRUE(w.seen_or_add("a"));
  EXPECT_FALSE(w.seen_or_add("b"));
  EXPECT_FALSE(w.seen_or_add("c"));
  EXPECT_FALSE(w.seen_or_add("d"));  // "a" leaves the window
  EXPECT_FALSE(w.seen_or_add("a"));
  EXPECT_TRUE(w.seen_or_add("d"));
  EXPECT_EQ(w.size(), 3u);
}

TEST(Dedupe, MemoryDoesNotDependOnTheIdsLength) {
  // 160 distinct 256 KiB ids once grew a stream by 81 MiB.
  DedupeWindow w;
  std::string id(256 * 1024, 'x');
  for (int i = 0; i < 5000; ++i) {
    id.replace(0, 8, std::to_string(10000000 + i));
    ASSERT_FALSE(w.seen_or_add(id));
  }
  EXPECT_EQ(w.size(), 4096u);
  EXPECT_LT(w.bytes_held(), 256u * 1024u);
  id.replace(0, 8, std::to_string(10000000 + 4999));
  EXPECT_TRUE(w.seen_or_add(id));
}

TEST(Dedupe, FingerprintsAreFixedFnv1a) {
  // Fixed values: the collision rule must not change with the platform.
  EXPECT_EQ(DedupeWindow::fingerprint(""), 14695981039346656037ull);
  EXPECT_EQ(DedupeWindow::fingerprint("a"), 0xaf63dc4c8601ec8cull);
}

}  // namespace
}  // namespace ssekit
