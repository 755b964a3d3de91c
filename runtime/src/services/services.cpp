// The service matchers: a hash of host-name suffixes probed label by label, and a binary
// trie per address family for the longest prefix.
#include "services/services.h"
#include "mmt/runtime.h"

#include <arpa/inet.h>

#include <cstring>

namespace mmt {

ServiceMatcher::ServiceMatcher(const mmt_library& lib) {
    for (uint32_t i = 0; i < lib.n_services; ++i) {
        const mmt_service& s = lib.services[i];
        int id = int(names_of_.size());
        names_of_.push_back(s.name);
        for (uint32_t n = 0; n < s.n_names; ++n) {
            std::string_view name = s.names[n];
            // The compiler gives each suffix to one service: nothing is overwritten.
            if (name.substr(0, 2) == "*.") {
                names_[name.substr(2)].sub = id;
            } else {
                Entry& e = names_[name];
                e.self = e.sub = id;
            }
        }
        for (uint32_t p = 0; p < s.n_prefixes; ++p) {
            const uint8_t* rec = s.prefixes + size_t(p) * MMT_PREFIX_SIZE;
            insert(rec[0] == 4 ? v4_ : v6_, rec + 2, rec[1], id);
        }
    }
}

void ServiceMatcher::insert(std::vector<Node>& trie, const uint8_t* addr, unsigned bits,
                            int service) {
    size_t node = 0;
    for (unsigned i = 0; i < bits; ++i) {
        unsigned bit = (addr[i / 8] >> (7 - i % 8)) & 1;
        if (trie[node].child[bit] < 0) {
            trie[node].child[bit] = int(trie.size());
            trie.emplace_back();
        }
        node = size_t(trie[node].child[bit]);
    }
    trie[node].service = service;
}

int ServiceMatcher::by_name(std::string_view host) const {
    if (names_.empty() || host.empty()) return -1;
    // A Host header may carry a port; a name may end with the root's dot.
    if (size_t colon = host.rfind(':');
        colon != std::string_view::npos && host.find(':') == colon && colon + 1 < host.size())
        host = host.substr(0, colon);
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (host.empty() || host.size() > 253) return -1;
    char buf[256];
    for (size_t i = 0; i < host.size(); ++i) {
        char c = host[i];
        buf[i] = c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
    }
    std::string_view name(buf, host.size());
    // The whole name first, then each suffix after a dot: the first found is the longest.
    for (size_t start = 0;;) {
        auto it = names_.find(name.substr(start));
        if (it != names_.end()) {
            int s = start == 0 ? it->second.self : it->second.sub;
            if (s >= 0) return s;
        }
        size_t dot = name.find('.', start);
        if (dot == std::string_view::npos) return -1;
        start = dot + 1;
    }
}

int ServiceMatcher::by_address(const uint8_t* addr, size_t len) const {
    const std::vector<Node>& trie = len == 4 ? v4_ : v6_;
    if (len != 4 && len != 16) return -1;
    int best = trie[0].service;
    size_t node = 0;
    for (unsigned i = 0; i < 8 * len; ++i) {
        int next = trie[node].child[(addr[i / 8] >> (7 - i % 8)) & 1];
        if (next < 0) break;
        node = size_t(next);
        if (trie[node].service >= 0) best = trie[node].service;
    }
    return best;
}

int ServiceMatcher::by_address_text(const std::string& text) const {
    uint8_t a[16];
    size_t n = parse_address(text, a);
    return n ? by_address(a, n) : -1;
}

namespace {

/// Dotted decimal exactly as inet_pton reads it (four numbers up to 255, no leading zeros),
/// without its general machinery: every flow record's addresses come this way.
bool parse_ipv4(std::string_view t, uint8_t (&out)[16]) {
    size_t i = 0;
    for (int part = 0; part < 4; ++part) {
        if (part && (i >= t.size() || t[i++] != '.')) return false;
        const size_t start = i;
        unsigned v = 0;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9' && i - start < 3)
            v = v * 10 + unsigned(t[i++] - '0');
        if (i == start || v > 255 || (t[start] == '0' && i - start > 1)) return false;
        out[part] = uint8_t(v);
    }
    return i == t.size();
}

} // namespace

size_t parse_address(const std::string& text, uint8_t (&out)[16]) {
    if (parse_ipv4(text, out)) return 4;
    if (inet_pton(AF_INET6, text.c_str(), out) == 1) return 16;
    return 0;
}

size_t session_address(const SessionInfo& s, bool dst, uint8_t (&out)[16]) {
    if (s.addr_len == 4 || s.addr_len == 16) {
        std::memcpy(out, dst ? s.dst_addr : s.src_addr, s.addr_len);
        return s.addr_len;
    }
    return parse_address(dst ? s.dst : s.src, out);
}

void DnsMemory::remember(const uint8_t* addr, size_t len, std::string_view name) {
    if (capacity_ == 0 || (len != 4 && len != 16) || name.empty()) return;
    std::string key(reinterpret_cast<const char*>(addr), len);
    auto it = names_.find(key);
    if (it != names_.end()) {
        it->second.assign(name);
        return;
    }
    if (names_.size() >= capacity_) {
        names_.erase(order_.front());
        order_.pop_front();
    }
    names_.emplace(key, std::string(name));
    order_.push_back(std::move(key));
}

const std::string* DnsMemory::find(const uint8_t* addr, size_t len) const {
    if (len != 4 && len != 16) return nullptr;
    auto it = names_.find(std::string(reinterpret_cast<const char*>(addr), len));
    return it == names_.end() ? nullptr : &it->second;
}

} // namespace mmt
