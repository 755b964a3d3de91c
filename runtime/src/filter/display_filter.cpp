// The runtime side of display filters: names resolved against a protocol library and
// requested from a handler; values answered from the packet being processed.
#include "mmt/filter.h"

#include "mmtc/filter.h"

#include <fmt/format.h>

#include <cstddef>
#include <map>
#include <set>

namespace mmt {

namespace {

// The compiled code walks a column's values `sizeof(Value)` bytes apart, reading the
// mmt_value at the start of each.
static_assert(offsetof(Value, v) == 0);

struct Slot {
    bool protocol = false;
    bool always = false; // the frame pseudo-protocol: on every packet
    int index = -1;      // a column, or a protocol's index in the library
};

/// tshark's name of a protocol, from the aliases of its attributes: "ip" for ipv4 when
/// every alias "ip.*" names an attribute of ipv4.
int protocol_by_alias(const ProtocolLibrary& lib, std::string_view name) {
    std::set<std::string> targets;
    std::string prefix = std::string(name) + ".";
    for (const auto& [alias, attribute] : lib.aliases())
        if (alias.rfind(prefix, 0) == 0) targets.insert(attribute.substr(0, attribute.find('.')));
    return targets.size() == 1 ? lib.find_protocol(*targets.begin()) : -1;
}

} // namespace

struct DisplayFilter::Impl {
    std::vector<Slot> slots;
    std::unique_ptr<mmtc::filter::Filter> filter;
};

namespace {

struct Eval {
    const DisplayFilter::Impl* impl;
    const PacketView* packet;
};

int64_t slot_values(void* ctx, int32_t slot, const mmt_value** first) {
    const auto* e = static_cast<const Eval*>(ctx);
    const Slot& s = e->impl->slots[size_t(slot)];
    if (s.always) return 1;
    if (s.protocol) {
        int64_t n = 0;
        for (const Layer& l : e->packet->path()) n += l.proto == s.index;
        return n;
    }
    std::span<const Value> values = e->packet->values(s.index);
    *first = values.empty() ? nullptr : &values[0].v;
    return int64_t(values.size());
}

} // namespace

DisplayFilter::DisplayFilter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DisplayFilter::~DisplayFilter() = default;

std::unique_ptr<DisplayFilter> DisplayFilter::compile(const ProtocolLibrary& library,
                                                      Handler& handler, std::string_view text,
                                                      std::string& diagnostic,
                                                      std::string_view source) {
    auto impl = std::make_unique<Impl>();
    std::map<std::string, int32_t, std::less<>> known; // a name used twice has one slot
    auto resolve = [&](std::string_view name) {
        mmtc::filter::Resolved r;
        AttributeRef ref = library.find_attribute(name);
        int proto = -1;
        if (!ref.valid()) {
            proto = library.find_protocol(name);
            if (proto < 0) proto = protocol_by_alias(library, name);
            if (proto < 0) {
                r.error =
                    fmt::format("unknown {} '{}'{}",
                                name.find('.') == std::string_view::npos ? "protocol" : "attribute",
                                name, did_you_mean(library, name));
                return r;
            }
        }
        r.ok = true;
        r.type = ref.valid() ? ref.type : uint32_t(MMT_T_NONE);
        const mmt_library& table = library.table();
        if (ref.valid() && ref.proto >= 0)
            r.canonical = std::string(table.protos[ref.proto].name) + "." +
                          table.protos[ref.proto].attrs[ref.attr].name;
        else if (proto >= 0)
            r.canonical = table.protos[proto].name;
        else
            r.canonical = std::string(name);
        if (auto it = known.find(r.canonical); it != known.end()) {
            r.slot = it->second;
            return r;
        }
        Slot s;
        if (ref.valid()) {
            s.index = handler.request(name);
        } else {
            s.protocol = true;
            s.index = proto;
            s.always = (table.protos[proto].flags & MMT_PROTO_BUILTIN) != 0;
        }
        r.slot = int32_t(impl->slots.size());
        impl->slots.push_back(s);
        known.emplace(r.canonical, r.slot);
        return r;
    };
    impl->filter = mmtc::filter::Filter::compile(text, resolve, sizeof(Value), diagnostic, source);
    if (!impl->filter) return nullptr;
    return std::unique_ptr<DisplayFilter>(new DisplayFilter(std::move(impl)));
}

bool DisplayFilter::matches(const PacketView& packet) const {
    Eval e{impl_.get(), &packet};
    return impl_->filter->matches(&e, &slot_values);
}

const std::string& DisplayFilter::tree() const {
    return impl_->filter->tree();
}

} // namespace mmt
