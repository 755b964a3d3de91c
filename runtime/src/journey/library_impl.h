// Internals of ProtocolLibrary shared with the journey.
#pragma once

#include "mmt/runtime.h"

#include <map>
#include <string>
#include <unordered_map>

namespace mmtc {
class Library;
}

namespace mmt {

/// Attributes of the `frame` pseudo-protocol, provided by the runtime itself.
struct FrameAttr {
    const char* name;
    uint32_t type;
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

struct ProtocolLibrary::Impl {
    std::unique_ptr<mmtc::Library> code;
    const mmt_library* table = nullptr;
    std::string origin;
    std::unordered_map<std::string, int> byName;
    std::unordered_map<uint32_t, int> byId;
    std::unordered_map<std::string, std::pair<int, int>> attrs;

    void index();
    int indexOfId(uint32_t id) const {
        auto it = byId.find(id);
        return it == byId.end() ? -1 : it->second;
    }
};

} // namespace mmt
