// Services named as data (docs/services.md): the matchers built once from a library's
// mmt_service tables, and the memory of recent DNS answers that names a flow by the
// address its client resolved.
#pragma once

#include "mmt/abi.h"

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mmt {

/// Host names and addresses to services. Built once; every lookup is bounded by the
/// input: one hash probe per label of a name, one step per bit of an address.
class ServiceMatcher {
  public:
    ServiceMatcher() = default;
    /// Indexes the services of `lib` (their strings must outlive the matcher).
    explicit ServiceMatcher(const mmt_library& lib);

    bool empty() const { return names_.empty() && v4_.size() <= 1 && v6_.size() <= 1; }
    /// The service of a host name: the one with the longest suffix of it (on label
    /// boundaries, ASCII case ignored, a final dot and a `:port` ignored); -1 when none.
    int by_name(std::string_view host) const;
    /// The service of an address (4 or 16 bytes): the one with the longest prefix
    /// holding it; -1 when none.
    int by_address(const uint8_t* addr, size_t len) const;
    /// by_address of an address in text ("192.0.2.1", "2001:db8::1"); -1 when none.
    int by_address_text(const std::string& text) const;
    const char* name(int service) const { return names_of_[size_t(service)]; }

  private:
    struct Entry {
        int self = -1; // the name itself and the names under it
        int sub = -1;  // the names under it only
    };
    struct Node {
        int child[2] = {-1, -1};
        int service = -1;
    };
    void insert(std::vector<Node>& trie, const uint8_t* addr, unsigned bits, int service);

    std::unordered_map<std::string_view, Entry> names_;
    std::vector<Node> v4_{1}, v6_{1}; // binary tries, the root first
    std::vector<const char*> names_of_;
};

/// Recent DNS answers: each address to the name it was the answer for, the latest
/// answer winning. Holds at most `capacity` addresses; the oldest go first.
class DnsMemory {
  public:
    explicit DnsMemory(size_t capacity = 65536) : capacity_(capacity) {}
    /// `addr`: 4 or 16 bytes.
    void remember(const uint8_t* addr, size_t len, std::string_view name);
    /// The name an address (4 or 16 bytes) was last the answer for, or null.
    const std::string* find(const uint8_t* addr, size_t len) const;
    size_t size() const { return names_.size(); }

  private:
    size_t capacity_;
    std::unordered_map<std::string, std::string> names_; // address bytes -> name
    std::deque<std::string> order_;                      // addresses, oldest first
};

/// 4 or 16 bytes of an address in text into `out`; 0 when it is not an address.
size_t parse_address(const std::string& text, uint8_t (&out)[16]);

struct SessionInfo;
/// A flow record's source (or, with `dst`, destination) address into `out`: its bytes when
/// the record has them (SessionInfo::addr_len), else its text read by parse_address; the
/// number of bytes, 0 when it is not an address.
size_t session_address(const SessionInfo& s, bool dst, uint8_t (&out)[16]);

} // namespace mmt
