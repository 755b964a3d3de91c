// mmt::ServiceNamer: the service of a flow record, by its server name, the name a DNS
// answer gave for one of its addresses, or an address (see runtime.h).
#include "journey/library_impl.h"
#include "mmt/runtime.h"
#include "services/services.h"

namespace mmt {

struct ServiceNamer::Impl {
    const ServiceMatcher& matcher;
    DnsMemory answers;
};

ServiceNamer::ServiceNamer(const ProtocolLibrary& library)
    : impl_(new Impl{library.impl_->services, DnsMemory{}}) {}

ServiceNamer::~ServiceNamer() = default;

void ServiceNamer::remember(std::span<const uint8_t> address, std::string_view name) {
    impl_->answers.remember(address.data(), address.size(), name);
}

uint32_t ServiceNamer::name(SessionInfo& info) const {
    info.service.clear();
    info.service_source.clear();
    const ServiceMatcher& m = impl_->matcher;
    if (m.empty()) return 0;
    uint32_t lookups = 0;
    auto by_name = [&](std::string_view name) {
        ++lookups;
        return m.by_name(name);
    };
    int s = -1;
    const char* from = "";
    if (!info.server_name.empty() && (s = by_name(info.server_name)) >= 0) {
        from = info.server_name_source.c_str();
    } else {
        // The server's address first, then the client's, each read once.
        struct Address {
            uint8_t bytes[16];
            size_t len;
        } addrs[2];
        addrs[0].len = session_address(info, true, addrs[0].bytes);
        addrs[1].len = session_address(info, false, addrs[1].bytes);
        for (const Address& a : addrs) {
            const std::string* name = impl_->answers.find(a.bytes, a.len);
            if (name && (s = by_name(*name)) >= 0) break;
        }
        if (s >= 0) {
            from = "resolved";
        } else {
            for (const Address& a : addrs) {
                ++lookups;
                if (a.len && (s = m.by_address(a.bytes, a.len)) >= 0) {
                    from = "address";
                    break;
                }
            }
        }
    }
    if (s >= 0) {
        info.service = m.name(s);
        info.service_source = from;
    }
    return lookups;
}

} // namespace mmt
