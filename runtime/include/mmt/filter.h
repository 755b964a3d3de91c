// Display filters: tshark's `-Y` expressions over attributes, compiled to native code.
//
//   std::string diag;
//   auto f = mmt::DisplayFilter::compile(*lib, handler, "tcp.dstport == 443", diag);
//   handler.on_packet([&](const mmt::PacketView& p) {
//       if (f->matches(p)) ...;
//       return mmt::Action::Continue;
//   });
//
// The grammar and semantics are in docs/mmtrun.md ("Display filter").
#pragma once

#include "mmt/runtime.h"

#include <memory>
#include <string>
#include <string_view>

namespace mmt {

class DisplayFilter {
  public:
    /// Compiles `text` for the packets of `handler`, requesting every attribute it names
    /// (Handler::request) so that their values come with each packet. Names are resolved as
    /// `-e` resolves them (attributes, frame.*, tshark's names); a name without an attribute
    /// may name a protocol (`udp`, or tshark's `ip`), true when the protocol is on the
    /// packet's path. On failure returns null and sets `diagnostic` to clang-style text
    /// (`<source>:1:9: error: ...`, the filter and a caret line; each line ends in '\n').
    static std::unique_ptr<DisplayFilter> compile(const ProtocolLibrary& library, Handler& handler,
                                                  std::string_view text, std::string& diagnostic,
                                                  std::string_view source = "-Y");
    ~DisplayFilter();
    /// Whether the packet passes; call it from a packet callback of the handler.
    bool matches(const PacketView& packet) const;
    /// The filter as understood: fully parenthesized, with the attributes' own names.
    const std::string& tree() const;

    struct Impl;

  private:
    explicit DisplayFilter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace mmt
