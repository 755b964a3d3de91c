// Specs nested `depth` levels deep in each position the grammar allows nesting, for the
// tests that hold the compiler (and the tools) to their nesting limit.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace mmt::test {

struct DeepSpec {
    std::string what; // the position: "parentheses", "calls", "switches" ...
    std::string text;
    // Whether the spec checks when within the limit: some positions are type errors at any
    // depth in this shape (a member of an integer, an index of an index...).
    bool valid;
};

/// One spec of protocol `deep` (id 9900, header `a : u8; b : u8;`) per position; `over`,
/// when given, is the protocol's `over` clause (so that a tool can run it).
std::vector<DeepSpec> deep_specs(size_t depth, const std::string& over = "");

} // namespace mmt::test
