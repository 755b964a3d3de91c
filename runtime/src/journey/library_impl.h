// Internals of ProtocolLibrary shared with the journey.
#pragma once

#include "mmt/runtime.h"
#include "services/services.h"

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace mmt {

/// Attributes of the `frame` pseudo-protocol, provided by the runtime itself.
struct FrameAttr {
    const char* name;
    uint32_t type;
    const char* description;
};
enum FrameAttrIndex {
    kFrameNumber,
    kFrameTime,
    kFrameTimeEpoch,
    kFrameLen,
    kFrameCapLen,
    kFrameLinktype,
    kFramePath,
    kFrameProtocols,
    kFrameTruncated,
    kFrameMalformed,
    kFrameSession,
    kFrameDirection
};
extern const FrameAttr kFrameAttrs[];
extern const size_t kFrameAttrCount;

/// The most protocols a library holds: sessions and the id index store table indexes in
/// 16 bits, with negative values for "none".
constexpr uint32_t kMaxProtocols = 32767;

struct ProtocolLibrary::Impl {
    std::shared_ptr<const void> code; // owns the code: a compiled or a loaded library
    const mmt_library* table = nullptr;
    std::string origin;
    std::unordered_map<std::string, int> by_name;
    std::vector<int16_t> by_id; // protocol id (0 to 65535) to table index, -1 when none
    std::unordered_map<std::string, std::pair<int, int>> attrs;
    std::vector<std::pair<std::string, std::string>> alias_list; // (alias, attribute), sorted
    std::unordered_map<std::string, std::string> alias_of;
    ServiceMatcher services; // built once from table->services

    /// Indexes `table` and readies the services and the aliases, once `code` owns it.
    bool finish(std::string& error);
    void index();
    /// Reads `ALIAS<TAB>ATTRIBUTE` lines; false with `error` set on a malformed line.
    bool load_aliases(const std::string& path, std::string& error);
    int index_of_id(uint32_t id) const { return id < by_id.size() ? by_id[id] : -1; }
};

} // namespace mmt
