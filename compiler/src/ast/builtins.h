// The built-in functions of expressions, in one table: each one's name, how many
// arguments it takes, what each argument must be and what it returns. The checker types
// calls from it and knows no other function, the code generator lowers by its ids (a
// switch over every id), and a test holds docs/language.md's table of built-in functions
// to its names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace mmtc::ast {

/// One id per function (a family such as `u8`...`u64le` shares one; its width says which).
enum class BuiltinId : uint8_t {
    None, // not a call of a built-in function (or not checked yet)
    Len,
    Count,
    StartsWith,
    IStartsWith,
    EndsWith,
    Contains,
    IEquals,
    Trim,
    Split,
    Before,
    After,
    ToInt,
    ReadBig,    // u8, u16, u24, u32, u64
    ReadLittle, // u16le, u32le, u64le
    Ipv4,
    Ipv6,
    Mac,
    First,
    Last,
    Find,
    Any,
    Slice,
    Offset,
    SizeOf,
    DomainName,
    NetbiosName,
    ChunkedLength,
    ParentIs,
    Join,
    JoinHex,
    Concat,
    Hex,
    Md5,
    Sha256,
    Parse,
    Assemble,
    QuicInitial,
    QuicServerInitial,
    Sort,
    NoGrease,
    Without,
    Min,
    Max,
    RunOf,
};

/// What an argument must be.
enum class BuiltinArg : uint8_t {
    Bytes,         ///< bytes or a string
    Int,           ///< an integer
    List,          ///< a list
    IntList,       ///< a list of integers
    BytesOrList,   ///< bytes, a string or a list
    BytesOrInt,    ///< bytes, a string or an integer
    JoinableList,  ///< a list of bytes, strings or integers
    StringLiteral, ///< a string literal
    IntLiteral,    ///< an integer literal
    Own,           ///< the function's own rule (a condition in the element's scope, a record...)
};

/// What a call returns.
enum class BuiltinResult : uint8_t {
    Bool,
    Bytes,
    String,
    Int,       ///< an integer of the entry's width
    WidestInt, ///< an integer as wide as the widest argument
    Ipv4,
    Ipv6,
    Mac,
    SameAsArg, ///< the first argument's type (sort, no_grease, without)
    KindOfArg, ///< the first argument's kind: bytes or string (slice)
    ElementOf, ///< an element of the first argument, a list (first, last)
    Own,       ///< the function's own rule (find, parse...)
};

inline constexpr unsigned kAnyArgs = 255;

struct Builtin {
    std::string_view name;
    BuiltinId id;
    unsigned minArgs;
    unsigned maxArgs; ///< kAnyArgs: no limit
    /// The arguments in order; when there are more arguments than entries, the last entry
    /// is what the others must be.
    std::vector<BuiltinArg> args;
    BuiltinResult result;
    unsigned width = 0; ///< Int results: bits; ReadBig/ReadLittle: bits read
};

/// Every built-in function, in the order of docs/language.md's table.
const std::vector<Builtin>& builtins();

/// The built-in function `name`, or null.
const Builtin* findBuiltin(std::string_view name);

/// What argument `i` (0-based) of a call of `b` must be.
BuiltinArg builtinArg(const Builtin& b, size_t i);

} // namespace mmtc::ast
