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
    auto by_address = [&](const std::string& addr) {
        ++lookups;
        return m.by_address_text(addr);
    };
    int s = -1;
    const char* from = "";
    if (!info.server_name.empty() && (s = by_name(info.server_name)) >= 0) {
        from = info.server_name_source.c_str();
    } else {
        for (const std::string* addr : {&info.dst, &info.src}) {
            const std::string* name = impl_->answers.find(*addr);
            if (name && (s = by_name(*name)) >= 0) break;
        }
        if (s >= 0) {
            from = "resolved";
        } else if ((s = by_address(info.dst)) >= 0 || (s = by_address(info.src)) >= 0) {
            from = "address";
        }
    }
    if (s >= 0) {
        info.service = m.name(s);
        info.service_source = from;
    }
    return lookups;
}

} // namespace mmt
