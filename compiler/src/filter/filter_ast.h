// The tree of a display filter, checked: every test names a resolved slot and carries
// literals already converted to the attribute's type.
#pragma once

#include "mmtc/filter.h"

#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace mmtc::filter {

enum class Op { Eq, Ne, Lt, Le, Gt, Ge };

/// A literal converted to an attribute's type.
struct Literal {
    uint64_t lo = 0, hi = 0; // UINT and BOOL: a value or a range lo..hi; IPV4: the address
    std::string bytes;       // BYTES, STRING, MAC, IPV6: the bytes to compare with
    int prefix = -1;         // IPV4, IPV6: the prefix length of a CIDR block, -1 for an address
};

struct Node {
    enum class Kind { Or, And, Not, Present, Compare, In, Contains, Matches } kind;
    std::vector<std::unique_ptr<Node>> children; // Or, And (two or more), Not (one)
    int32_t slot = -1;
    uint32_t type = MMT_T_NONE;
    std::string name; // canonical attribute name
    Op op = Op::Eq;
    std::vector<Literal> literals; // Compare: one; In: the set; Contains: one
    std::regex* regex = nullptr;   // Matches (owned by the Program)
    std::string pattern;           // Matches: its source, for tree()
};

struct Program {
    std::unique_ptr<Node> root;
    std::vector<std::unique_ptr<std::regex>> regexes;
};

/// Parses and checks `text`; on failure returns false and sets `diagnostic`.
bool parse(std::string_view text, const Resolver& resolve, std::string_view source, Program& out,
           std::string& diagnostic);

/// The fully parenthesized form of a checked tree (Filter::tree()).
std::string describe(const Node& n);

/// valueTypeName(), except "protocol" for a name of no value type (a protocol).
const char* typeName(uint32_t type);

} // namespace mmtc::filter
