// ProtocolLibrary: compiles specs through libmmtc's public API (or loads an object or a
// cached build) and indexes the resulting table by protocol and attribute name.
#include "journey/library_impl.h"

#include "mmtc/compiler.h"

#include <fmt/format.h>

namespace mmt {

const FrameAttr kFrameAttrs[] = {
    {"number", MMT_T_UINT},      {"time", MMT_T_STRING},      {"time_epoch", MMT_T_STRING},
    {"len", MMT_T_UINT},         {"cap_len", MMT_T_UINT},     {"linktype", MMT_T_UINT},
    {"path", MMT_T_STRING},      {"protocols", MMT_T_STRING}, {"truncated", MMT_T_STRING},
    {"malformed", MMT_T_STRING}, {"session", MMT_T_UINT},     {"direction", MMT_T_UINT},
};
const size_t kFrameAttrCount = sizeof(kFrameAttrs) / sizeof(kFrameAttrs[0]);

ProtocolLibrary::ProtocolLibrary(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProtocolLibrary::~ProtocolLibrary() = default;

const mmt_library& ProtocolLibrary::table() const {
    return *impl_->table;
}
const char* ProtocolLibrary::origin() const {
    return impl_->origin.c_str();
}

std::unique_ptr<ProtocolLibrary> ProtocolLibrary::load(const LoadOptions& options,
                                                       std::string& error) {
    auto impl = std::make_unique<Impl>();
    if (!options.object.empty()) {
        impl->code = mmtc::loadObject(options.object, error);
        if (!impl->code) return nullptr;
        impl->origin = "object";
    } else {
        mmtc::Compiler c;
        std::vector<std::string> paths;
        if (options.builtin) paths.push_back(mmtc::builtinSpecDir());
        for (const auto& p : options.spec_paths) paths.push_back(p);
        if (paths.empty()) {
            error = "no protocol specs to load";
            return nullptr;
        }
        for (const auto& p : paths) {
            if (!c.addPath(p)) {
                error = c.ioError();
                return nullptr;
            }
        }
        if (!c.check()) {
            error = fmt::format("the protocol specs have {} error{}:\n{}", c.errorCount(),
                                c.errorCount() == 1 ? "" : "s", c.diagnostics());
            return nullptr;
        }
        if (options.use_cache) {
            impl->code = c.compileCached(
                options.cache_dir.empty() ? mmtc::defaultCacheDir() : options.cache_dir, error);
        } else {
            impl->code = c.compile(error);
        }
        if (!impl->code) return nullptr;
        impl->origin = impl->code->origin() == mmtc::Library::Origin::Cache ? "cache" : "compiled";
    }
    impl->table = impl->code->table();
    if (impl->table->n_protos > kMaxProtocols) {
        error = fmt::format("the library has {} protocols; at most {} are supported",
                            impl->table->n_protos, kMaxProtocols);
        return nullptr;
    }
    impl->index();
    return std::unique_ptr<ProtocolLibrary>(new ProtocolLibrary(std::move(impl)));
}

void ProtocolLibrary::Impl::index() {
    byId.assign(65536, -1);
    for (uint32_t i = 0; i < table->n_protos; ++i) {
        const mmt_proto& p = table->protos[i];
        byName[p.name] = int(i);
        if (p.id < byId.size()) byId[p.id] = int16_t(i); // i < kMaxProtocols: checked by load
        for (uint32_t a = 0; a < p.n_attrs; ++a)
            attrs[std::string(p.name) + "." + p.attrs[a].name] = {int(i), int(a)};
    }
}

int ProtocolLibrary::find_protocol(std::string_view name) const {
    auto it = impl_->byName.find(std::string(name));
    return it == impl_->byName.end() ? -1 : it->second;
}

AttributeRef ProtocolLibrary::find_attribute(std::string_view name) const {
    AttributeRef r;
    std::string n(name);
    if (n.rfind("frame.", 0) == 0) {
        std::string a = n.substr(6);
        for (size_t i = 0; i < kFrameAttrCount; ++i)
            if (a == kFrameAttrs[i].name) {
                r.proto = -1;
                r.attr = int(i);
                r.type = kFrameAttrs[i].type;
                return r;
            }
        return r;
    }
    auto it = impl_->attrs.find(n);
    if (it == impl_->attrs.end()) return r;
    r.proto = it->second.first;
    r.attr = it->second.second;
    const mmt_attr& a = impl_->table->protos[r.proto].attrs[r.attr];
    r.type = a.type;
    r.event = a.kind == MMT_ATTR_EVENT;
    return r;
}

std::vector<std::string> ProtocolLibrary::attribute_names() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < kFrameAttrCount; ++i)
        out.push_back(std::string("frame.") + kFrameAttrs[i].name);
    for (uint32_t i = 0; i < impl_->table->n_protos; ++i) {
        const mmt_proto& p = impl_->table->protos[i];
        for (uint32_t a = 0; a < p.n_attrs; ++a)
            out.push_back(std::string(p.name) + "." + p.attrs[a].name);
    }
    return out;
}

} // namespace mmt
