// ProtocolLibrary: indexes a library's table by protocol and attribute name, and loads
// libraries built ahead of time without the compiler (library_load.cpp compiles specs).
#include "journey/library_impl.h"

#include "loader/file_bytes.h"
#include "loader/library_object.h"
#include "loader/spec_cache.h"
#include "mmtc/stamp.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace mmt {

// clang-format off
const FrameAttr kFrameAttrs[] = {
    {"number",     MMT_T_UINT,   "1-based position of the packet in the input"},
    {"time",       MMT_T_STRING, "capture time, seconds.nanoseconds since the epoch"},
    {"time_epoch", MMT_T_STRING, "capture time, seconds.nanoseconds since the epoch"},
    {"len",        MMT_T_UINT,   "length on the wire"},
    {"cap_len",    MMT_T_UINT,   "bytes captured"},
    {"linktype",   MMT_T_UINT,   "link type (LINKTYPE_*) of the packet's interface"},
    {"path",       MMT_T_STRING, "protocol path, e.g. ethernet.ipv4.tcp.http"},
    {"protocols",  MMT_T_STRING, "protocol path, e.g. ethernet.ipv4.tcp.http"},
    {"truncated",  MMT_T_STRING, "where the packet was cut short: protocol.field"},
    {"malformed",  MMT_T_STRING, "where the packet broke a constraint or a length: protocol.field"},
    {"session",    MMT_T_UINT,   "id of the session the packet belongs to"},
    {"direction",  MMT_T_UINT,   "0 from the session's initiator, 1 the reverse"},
};
// clang-format on
const size_t kFrameAttrCount = sizeof(kFrameAttrs) / sizeof(kFrameAttrs[0]);

ProtocolLibrary::ProtocolLibrary(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProtocolLibrary::~ProtocolLibrary() = default;

const mmt_library& ProtocolLibrary::table() const {
    return *impl_->table;
}
const char* ProtocolLibrary::origin() const {
    return impl_->origin.c_str();
}

namespace {

std::unique_ptr<ProtocolLibrary::Impl> load_library_object(const std::string& path,
                                                           std::string& error) {
    FileBytes file;
    if (!file.open(path, error)) return nullptr;
    auto object = LibraryObject::load(file.bytes(), nullptr, error);
    if (!object) {
        error = fmt::format("'{}': {}", path, error);
        return nullptr;
    }
    auto impl = std::make_unique<ProtocolLibrary::Impl>();
    impl->table = object->table();
    impl->code = std::move(object);
    return impl;
}

} // namespace

std::unique_ptr<ProtocolLibrary> ProtocolLibrary::load_object(const std::string& path,
                                                              std::string& error) {
    auto impl = load_library_object(path, error);
    if (!impl) return nullptr;
    impl->origin = "object";
    if (!impl->finish(error)) return nullptr;
    return std::unique_ptr<ProtocolLibrary>(new ProtocolLibrary(std::move(impl)));
}

std::unique_ptr<ProtocolLibrary> ProtocolLibrary::load_cached(const LoadOptions& options,
                                                              std::string& error) {
    // The files and bytes mmtc::Compiler::cacheKey() hashes, in the same order.
    std::vector<std::string> paths;
    if (options.builtin) paths.push_back(builtin_spec_dir());
    paths.insert(paths.end(), options.spec_paths.begin(), options.spec_paths.end());
    if (paths.empty()) {
        error = "no protocol specs to load";
        return nullptr;
    }
    std::vector<std::string> files, texts;
    for (const auto& p : paths)
        if (!spec_files(p, files, error)) return nullptr;
    texts.resize(files.size());
    for (size_t i = 0; i < files.size(); ++i)
        if (!read_spec(files[i], texts[i], error)) return nullptr;
    const std::string dir = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
    const std::string entry = cache_entry(dir, cache_key(mmt_compiler_identity(), texts));
    std::error_code ec;
    if (!std::filesystem::exists(entry, ec)) {
        error = "no cached build of these specs";
        return nullptr;
    }
    auto impl = load_library_object(entry, error);
    if (!impl) return nullptr;
    touch_cache_entry(entry);
    impl->origin = "cache";
    if (!impl->finish(error)) return nullptr;
    return std::unique_ptr<ProtocolLibrary>(new ProtocolLibrary(std::move(impl)));
}

bool ProtocolLibrary::Impl::finish(std::string& error) {
    if (table->n_protos > kMaxProtocols) {
        error = fmt::format("the library has {} protocols; at most {} are supported",
                            table->n_protos, kMaxProtocols);
        return false;
    }
    index();
    services = ServiceMatcher(*table);
    // The alias table ships with the built-in specs; a library without them still gets
    // the aliases of whatever attributes it has.
    std::string aliases = builtin_spec_dir() + "/tshark-names.tsv";
    return !std::ifstream(aliases).good() || load_aliases(aliases, error);
}

void ProtocolLibrary::Impl::index() {
    by_id.assign(65536, -1);
    for (uint32_t i = 0; i < table->n_protos; ++i) {
        const mmt_proto& p = table->protos[i];
        by_name[p.name] = int(i);
        if (p.id < by_id.size()) by_id[p.id] = int16_t(i); // i < kMaxProtocols: checked by load
        for (uint32_t a = 0; a < p.n_attrs; ++a)
            attrs[std::string(p.name) + "." + p.attrs[a].name] = {int(i), int(a)};
    }
}

bool ProtocolLibrary::Impl::load_aliases(const std::string& path, std::string& error) {
    std::ifstream in(path);
    std::string line;
    for (unsigned number = 1; std::getline(in, line); ++number) {
        if (line.empty() || line[0] == '#') continue;
        size_t tab = line.find('\t');
        if (tab == std::string::npos || tab == 0 || tab + 1 == line.size() ||
            line.find('\t', tab + 1) != std::string::npos) {
            error = fmt::format("{}:{}:1: error: expected 'ALIAS<tab>ATTRIBUTE'", path, number);
            return false;
        }
        std::string alias = line.substr(0, tab), name = line.substr(tab + 1);
        bool known = attrs.count(name) > 0;
        for (size_t i = 0; i < kFrameAttrCount && !known; ++i)
            known = name == std::string("frame.") + kFrameAttrs[i].name;
        if (!known || attrs.count(alias) || alias_of.count(alias)) continue;
        alias_of[alias] = name;
        alias_list.emplace_back(alias, name);
    }
    std::sort(alias_list.begin(), alias_list.end());
    return true;
}

const char* type_name(uint32_t type) {
    return value_type_name(type);
}

int ProtocolLibrary::find_protocol(std::string_view name) const {
    auto it = impl_->by_name.find(std::string(name));
    return it == impl_->by_name.end() ? -1 : it->second;
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
        auto alias = impl_->alias_of.find(n);
        return alias == impl_->alias_of.end() ? r : find_attribute(alias->second);
    }
    auto it = impl_->attrs.find(n);
    if (it == impl_->attrs.end()) {
        auto alias = impl_->alias_of.find(n);
        return alias == impl_->alias_of.end() ? r : find_attribute(alias->second);
    }
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

std::vector<AttributeInfo> ProtocolLibrary::attributes() const {
    std::unordered_map<std::string, std::vector<std::string>> aliases_of;
    for (const auto& [alias, name] : impl_->alias_list) aliases_of[name].push_back(alias);
    std::vector<AttributeInfo> out;
    for (size_t i = 0; i < kFrameAttrCount; ++i) {
        AttributeInfo a;
        a.name = std::string("frame.") + kFrameAttrs[i].name;
        a.type = kFrameAttrs[i].type;
        a.description = kFrameAttrs[i].description;
        out.push_back(std::move(a));
    }
    for (uint32_t i = 0; i < impl_->table->n_protos; ++i) {
        const mmt_proto& p = impl_->table->protos[i];
        for (uint32_t k = 0; k < p.n_attrs; ++k) {
            AttributeInfo a;
            a.name = std::string(p.name) + "." + p.attrs[k].name;
            a.type = p.attrs[k].type;
            a.event = p.attrs[k].kind == MMT_ATTR_EVENT;
            a.hex_digits = p.attrs[k].hex_digits;
            if (p.attrs[k].description) a.description = p.attrs[k].description;
            out.push_back(std::move(a));
        }
    }
    for (auto& a : out)
        if (auto it = aliases_of.find(a.name); it != aliases_of.end()) a.aliases = it->second;
    return out;
}

const std::vector<std::pair<std::string, std::string>>& ProtocolLibrary::aliases() const {
    return impl_->alias_list;
}

namespace {

/// Edits (insert, delete, substitute, swap two neighbours) from a to b.
size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                cur[j] = std::min(cur[j], prev2[j - 2] + 1);
        }
        std::swap(prev2, prev);
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

} // namespace

std::vector<std::string> ProtocolLibrary::closest_names(std::string_view name, size_t count) const {
    std::vector<std::string> names = attribute_names();
    for (const auto& [alias, target] : impl_->alias_list) names.push_back(alias);
    // A name is close when at most a third of it differs (two edits for short names).
    size_t limit = std::max<size_t>(2, name.size() / 3);
    std::vector<std::pair<size_t, std::string>> scored;
    for (auto& n : names) {
        size_t d = edit_distance(name, n);
        if (d <= limit) scored.emplace_back(d, std::move(n));
    }
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (auto& s : scored) {
        if (out.size() == count) break;
        out.push_back(std::move(s.second));
    }
    return out;
}

std::string did_you_mean(const ProtocolLibrary& library, std::string_view name) {
    std::vector<std::string> close = library.closest_names(name);
    if (close.empty()) return "";
    std::string out = "; did you mean ";
    for (size_t i = 0; i < close.size(); ++i) out += (i ? ", '" : "'") + close[i] + "'";
    return out + "?";
}

} // namespace mmt
