// Display filters (`mmtrun -Y`): an expression over attributes, in tshark's syntax, parsed,
// checked against the attributes' types and compiled to native code with LLVM's ORC JIT.
// No LLVM types cross this header.
//
//   tcp.dstport == 443 and not ip.src == 10.0.0.0/8
//
// The compiled code reads values through a host function (ValuesFn) given at each call,
// so the filter knows nothing of the runtime: the caller maps each attribute the filter
// names to a slot (Resolver) and answers for the slots of the current packet.
#pragma once

#include "mmt/abi.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace mmtc::filter {

/// What a name in a filter stands for, as the caller resolves it.
struct Resolved {
    bool ok = false;
    /// Passed back to ValuesFn for this name.
    int32_t slot = -1;
    /// The attribute's enum mmt_type; MMT_T_NONE for a protocol (tested for presence only).
    uint32_t type = MMT_T_NONE;
    /// The name the attribute prints as ("tcp.dst_port" for "tcp.dstport").
    std::string canonical;
    /// When not ok: why ("unknown attribute 'ip.scr'; did you mean 'ip.src'?").
    std::string error;
};
using Resolver = std::function<Resolved(std::string_view name)>;

/// The values of `slot` on the current packet: their number, and in *first the address of
/// the first; each is an mmt_value at the start of a record `stride` bytes long (see
/// Filter::compile). For a protocol slot, the number of times it is on the packet's path
/// (*first unused).
using ValuesFn = int64_t (*)(void* ctx, int32_t slot, const mmt_value** first);

class Filter {
  public:
    /// Parses, checks and compiles `text`. On failure returns null and sets `diagnostic` to
    /// clang-style text: `<source>:1:9: error: message`, the filter line and a caret line
    /// under the span, each ending with a newline.
    static std::unique_ptr<Filter> compile(std::string_view text, const Resolver& resolve,
                                           size_t stride, std::string& diagnostic,
                                           std::string_view source = "-Y");
    ~Filter();

    /// Whether the packet the host function answers for passes the filter.
    bool matches(void* ctx, ValuesFn values) const { return fn_(ctx, values) != 0; }
    /// The filter as it was understood, fully parenthesized with canonical attribute names:
    /// `(and (== tcp.dst_port 443) (not (present udp)))`.
    const std::string& tree() const;

    struct Impl;

  private:
    explicit Filter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    int32_t (*fn_)(void*, ValuesFn) = nullptr;
};

/// Deepest nesting of parentheses and `not` a filter may have.
constexpr unsigned kMaxFilterDepth = 256;

} // namespace mmtc::filter
