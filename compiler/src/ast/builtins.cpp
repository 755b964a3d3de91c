// The table of built-in functions (builtins.h).
#include "ast/builtins.h"

#include <algorithm>
#include <unordered_map>

namespace mmtc::ast {

namespace {

using A = BuiltinArg;
using R = BuiltinResult;
using I = BuiltinId;

std::vector<Builtin> makeTable() {
    const std::vector<A> bytes{A::Bytes}, bytesLiteral{A::Bytes, A::StringLiteral},
        bytesInt{A::Bytes, A::Int}, quic{A::Bytes, A::Int, A::Int, A::Bytes};
    return {
        {"len", I::Len, 1, 1, {A::BytesOrList}, R::Int, 32},
        {"count", I::Count, 1, 1, {A::List}, R::Int, 32},
        {"starts_with", I::StartsWith, 2, kAnyArgs, bytesLiteral, R::Bool},
        {"istarts_with", I::IStartsWith, 2, kAnyArgs, bytesLiteral, R::Bool},
        {"ends_with", I::EndsWith, 2, kAnyArgs, bytesLiteral, R::Bool},
        {"contains", I::Contains, 2, kAnyArgs, bytesLiteral, R::Bool},
        {"iequals", I::IEquals, 2, 2, bytesLiteral, R::Bool},
        {"trim", I::Trim, 1, 1, bytes, R::Bytes},
        {"split", I::Split, 3, 3, {A::Bytes, A::StringLiteral, A::IntLiteral}, R::Bytes},
        {"before", I::Before, 2, 2, bytesLiteral, R::Bytes},
        {"after", I::After, 2, 2, bytesLiteral, R::Bytes},
        {"to_int", I::ToInt, 1, 1, bytes, R::Int, 64},
        {"u8", I::ReadBig, 2, 2, bytesInt, R::Int, 8},
        {"u16", I::ReadBig, 2, 2, bytesInt, R::Int, 16},
        {"u24", I::ReadBig, 2, 2, bytesInt, R::Int, 24},
        {"u32", I::ReadBig, 2, 2, bytesInt, R::Int, 32},
        {"u64", I::ReadBig, 2, 2, bytesInt, R::Int, 64},
        {"u16le", I::ReadLittle, 2, 2, bytesInt, R::Int, 16},
        {"u32le", I::ReadLittle, 2, 2, bytesInt, R::Int, 32},
        {"u64le", I::ReadLittle, 2, 2, bytesInt, R::Int, 64},
        {"ipv4", I::Ipv4, 1, 2, bytesInt, R::Ipv4},
        {"ipv6", I::Ipv6, 1, 2, bytesInt, R::Ipv6},
        {"mac", I::Mac, 1, 2, bytesInt, R::Mac},
        {"first", I::First, 1, 1, {A::List}, R::ElementOf},
        {"last", I::Last, 1, 1, {A::List}, R::ElementOf},
        {"find", I::Find, 2, 2, {A::List, A::Own}, R::Own},
        {"any", I::Any, 2, 2, {A::List, A::Own}, R::Own},
        {"slice", I::Slice, 2, 3, bytesInt, R::KindOfArg},
        {"offset", I::Offset, 1, 1, {A::Own}, R::Own},
        {"size_of", I::SizeOf, 1, 1, {A::Own}, R::Own},
        {"domain_name", I::DomainName, 2, 2, bytesInt, R::String},
        {"netbios_name", I::NetbiosName, 1, 1, bytes, R::String},
        {"chunked_length", I::ChunkedLength, 1, 1, bytes, R::Int, 64},
        {"parent_is", I::ParentIs, 1, 1, {A::Own}, R::Own},
        {"join", I::Join, 2, 2, {A::JoinableList, A::StringLiteral}, R::String},
        {"join_hex", I::JoinHex, 2, 2, {A::IntList, A::StringLiteral}, R::String},
        {"concat", I::Concat, 1, kAnyArgs, {A::BytesOrInt}, R::String},
        {"hex", I::Hex, 1, 1, bytes, R::String},
        {"md5", I::Md5, 1, 1, bytes, R::String},
        {"sha256", I::Sha256, 1, 1, bytes, R::String},
        {"parse", I::Parse, 2, 2, {A::Bytes, A::Own}, R::Own},
        {"assemble", I::Assemble, 3, 3, {A::List, A::Own}, R::Own},
        {"quic_initial", I::QuicInitial, 4, 5, quic, R::Bytes},
        {"quic_server_initial", I::QuicServerInitial, 4, 5, quic, R::Bytes},
        {"sort", I::Sort, 1, 1, {A::IntList}, R::SameAsArg},
        {"no_grease", I::NoGrease, 1, 1, {A::IntList}, R::SameAsArg},
        {"without", I::Without, 2, kAnyArgs, {A::IntList, A::IntLiteral}, R::SameAsArg},
        {"min", I::Min, 2, 2, {A::Int}, R::WidestInt},
        {"max", I::Max, 2, 2, {A::Int}, R::WidestInt},
        {"run_of", I::RunOf, 1, 1, {A::Own}, R::Own},
    };
}

} // namespace

const std::vector<Builtin>& builtins() {
    static const std::vector<Builtin> table = makeTable();
    return table;
}

const Builtin* findBuiltin(std::string_view name) {
    static const auto index = [] {
        std::unordered_map<std::string_view, const Builtin*> m;
        for (const Builtin& b : builtins()) m.emplace(b.name, &b);
        return m;
    }();
    auto it = index.find(name);
    return it == index.end() ? nullptr : it->second;
}

BuiltinArg builtinArg(const Builtin& b, size_t i) {
    return b.args.empty() ? BuiltinArg::Own : b.args[std::min(i, b.args.size() - 1)];
}

} // namespace mmtc::ast
