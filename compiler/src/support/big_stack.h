// Running recursive work on a stack of a known size. The parser, the checker and the
// code generator recurse once per level of nesting in a spec (up to the language's limit
// of 1,000); how much stack a level takes depends on the build (AddressSanitizer's frames
// are several times larger) and the caller's thread may have little, so that work gets a
// thread of its own with a stack large enough for the limit in any build.
#pragma once

#include <cstddef>
#include <functional>

namespace mmtc::support {

/// The stack the compiler's recursive phases run on: 256 MiB, reserved, not used (pages
/// are only taken as the recursion reaches them).
inline constexpr size_t kBigStack = size_t(256) << 20;

/// Runs `work` to completion on a thread with a `stack_bytes` stack; an exception it
/// throws is rethrown here. Runs it on the calling thread when no such thread can be
/// made.
void runOnBigStack(const std::function<void()>& work, size_t stack_bytes = kBigStack);

} // namespace mmtc::support
