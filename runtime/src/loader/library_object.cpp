// Loading a protocol library built ahead of time: the container, the machine check, the
// host functions its code is linked against and the tables of its parts.
#include "loader/library_object.h"

#include "helpers/host.h"
#include "util/hash.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <dlfcn.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace mmt {

namespace {

constexpr char kMagic[8] = {'M', 'M', 'T', 'O', 'B', 'J', '2', '\n'};

void put64(std::vector<char>& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(char(v >> (8 * i)));
}

uint64_t get64(const char* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(p[i])) << (8 * i);
    return v;
}

using MemcpyFn = void* (*)(void*, const void*, size_t);
using MemsetFn = void* (*)(void*, int, size_t);
using MemcmpFn = int (*)(const void*, const void*, size_t);

struct HostSymbol {
    const char* name;
    void* address;
};

// The functions generated code may call. The compiler's table (host_table.cpp) declares
// the same names with their IR types; a test holds the two to each other.
#define MMT_HOST(f)                                                                                \
    { #f, reinterpret_cast < void*>(&f) }
const HostSymbol kHostSymbols[] = {
    MMT_HOST(mmt_rt_find),
    MMT_HOST(mmt_rt_run_of),
    MMT_HOST(mmt_rt_icase_eq),
    MMT_HOST(mmt_rt_to_int),
    MMT_HOST(mmt_rt_trim),
    MMT_HOST(mmt_rt_scratch_append),
    MMT_HOST(mmt_rt_scratch_mark),
    MMT_HOST(mmt_rt_memo),
    MMT_HOST(mmt_rt_domain_name),
    MMT_HOST(mmt_rt_netbios_name),
    MMT_HOST(mmt_rt_chunked_length),
    MMT_HOST(mmt_rt_digest),
    MMT_HOST(mmt_rt_hex),
    MMT_HOST(mmt_rt_append_int),
    MMT_HOST(mmt_rt_sort_ints),
    MMT_HOST(mmt_rt_quic_initial),
    MMT_HOST(mmt_rt_state_bytes_get),
    MMT_HOST(mmt_rt_state_bytes_set),
    MMT_HOST(mmt_rt_state_bytes_free),
    MMT_HOST(mmt_rt_assemble_init),
    MMT_HOST(mmt_rt_assemble_put),
    MMT_HOST(mmt_rt_assemble_end),
    MMT_HOST(mmt_rt_match_any),
    MMT_HOST(mmt_rt_fail),
    MMT_HOST(mmt_rt_short),
    // LLVM may turn memcmp(...) == 0 into bcmp, and form memcpy and memset calls.
    {"memcmp", reinterpret_cast<void*>(static_cast<MemcmpFn>(&std::memcmp))},
    {"bcmp", reinterpret_cast<void*>(static_cast<MemcmpFn>(&std::memcmp))},
    {"memcpy", reinterpret_cast<void*>(static_cast<MemcpyFn>(&std::memcpy))},
    {"memset", reinterpret_cast<void*>(static_cast<MemsetFn>(&std::memset))},
};
#undef MMT_HOST

std::string compute_host_id() {
#if defined(__x86_64__)
    // The processor's signature and feature words (not the fields that differ between
    // the cores of one machine, such as the APIC id), and the state the OS enables.
    unsigned a, b, c, d;
    uint64_t h = 0xcbf29ce484222325ull;
    char vendor[13] = {};
    unsigned max_leaf = __get_cpuid_max(0, nullptr);
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        std::memcpy(vendor, &b, 4);
        std::memcpy(vendor + 4, &d, 4);
        std::memcpy(vendor + 8, &c, 4);
    }
    unsigned signature = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        signature = a;
        const unsigned words[] = {a, c, d};
        h = fnv1a(h, words, sizeof words);
        if (c & (1u << 27)) { // OSXSAVE: the register state the OS saves
            unsigned lo, hi;
            __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            h = fnv1a(h, &lo, sizeof lo);
        }
    }
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        const unsigned words[] = {b, c, d};
        h = fnv1a(h, words, sizeof words);
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d)) {
        const unsigned words[] = {c, d};
        h = fnv1a(h, words, sizeof words);
    }
    char buf[96];
    std::snprintf(buf, sizeof buf, "x86_64 %s %x %016llx", vendor, signature,
                  static_cast<unsigned long long>(h));
    return buf;
#else
    return "unknown";
#endif
}

} // namespace

std::vector<char> pack_objects(const std::vector<std::vector<char>>& parts) {
    std::vector<char> out(kMagic, kMagic + sizeof kMagic);
    put64(out, parts.size());
    for (const auto& o : parts) {
        put64(out, o.size());
        out.insert(out.end(), o.begin(), o.end());
    }
    return out;
}

bool unpack_objects(std::string_view data, std::vector<std::string_view>& parts) {
    if (data.size() < 16 || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) return false;
    const uint64_t n = get64(data.data() + 8);
    size_t pos = 16;
    for (uint64_t i = 0; i < n; ++i) {
        if (pos + 8 > data.size()) return false;
        const uint64_t len = get64(data.data() + pos);
        pos += 8;
        if (len > data.size() - pos) return false;
        parts.push_back(data.substr(pos, len));
        pos += len;
    }
    return pos == data.size() && n > 0;
}

std::string part_symbol(unsigned part) {
    return std::string(MMT_LIBRARY_SYMBOL) + "_part" + std::to_string(part);
}

const std::string& host_id() {
    static const std::string id = compute_host_id();
    return id;
}

namespace fs = std::filesystem;

std::string builtin_spec_dir() {
    if (const char* env = std::getenv("MMT_SPEC_PATH"); env && *env) return env;
    std::error_code ec;
    auto is_library = [&](const fs::path& d) { return fs::is_directory(d, ec); };
    // Installed: PREFIX/bin/TOOL finds PREFIX/share/mmt-journey/protocols, wherever the
    // prefix was copied to.
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        fs::path prefix = exe.parent_path().parent_path();
        // PREFIX/libexec/mmt-journey/TOOL (mmtrun-full) finds the same folder.
        if (prefix.filename() == "libexec") prefix = prefix.parent_path();
        fs::path installed = prefix / "share/mmt-journey/protocols";
        if (is_library(installed)) return installed.string();
    }
#ifdef MMT_SPEC_DIR
    // Tools run from the build tree: the source tree's folder.
    if (is_library(MMT_SPEC_DIR)) return MMT_SPEC_DIR;
#endif
#ifdef MMT_INSTALLED_SPEC_DIR
    // A program of a user's, linked against the installed library.
    if (is_library(MMT_INSTALLED_SPEC_DIR)) return MMT_INSTALLED_SPEC_DIR;
#endif
#ifdef MMT_SPEC_DIR
    return MMT_SPEC_DIR;
#else
    return "protocols.dsl";
#endif
}

const char* value_type_name(uint32_t type) {
    switch (type) {
    case MMT_T_UINT:
        return "uint";
    case MMT_T_BOOL:
        return "bool";
    case MMT_T_BYTES:
        return "bytes";
    case MMT_T_STRING:
        return "string";
    case MMT_T_MAC:
        return "mac";
    case MMT_T_IPV4:
        return "ipv4";
    case MMT_T_IPV6:
        return "ipv6";
    default:
        return "none";
    }
}

void* host_symbol(std::string_view name) {
    for (const HostSymbol& s : kHostSymbols)
        if (name == s.name) return s.address;
    return nullptr;
}

size_t host_symbol_count() {
    return sizeof kHostSymbols / sizeof kHostSymbols[0];
}

void* sanitizer_symbol(std::string_view name) {
    if (name.substr(0, 7) != "__asan_") return nullptr;
    return ::dlsym(RTLD_DEFAULT, std::string(name).c_str());
}

bool join_parts(const std::function<void*(const std::string&)>& lookup, size_t parts,
                std::vector<mmt_proto>& protos, std::vector<mmt_service>& services,
                std::string& error) {
    for (size_t i = 0; i < parts; ++i) {
        const auto* part = static_cast<const mmt_library*>(lookup(part_symbol(unsigned(i))));
        if (!part) {
            error = "protocol library has no table " + part_symbol(unsigned(i));
            return false;
        }
        if (part->abi_version != MMT_ABI_VERSION) {
            error = "protocol library has ABI version " + std::to_string(part->abi_version);
            return false;
        }
        protos.insert(protos.end(), part->protos, part->protos + part->n_protos);
        if (part->n_services)
            services.insert(services.end(), part->services, part->services + part->n_services);
    }
    std::sort(protos.begin(), protos.end(),
              [](const mmt_proto& a, const mmt_proto& b) { return a.id < b.id; });
    return true;
}

std::unique_ptr<LibraryObject>
LibraryObject::load(std::string_view data, const ObjectCode::Resolver& extra, std::string& error) {
    std::vector<std::string_view> parts;
    if (!unpack_objects(data, parts)) {
        error = "not an mmt-journey protocol library (or one made by another version)";
        return nullptr;
    }
    auto resolve = [&](std::string_view name) -> void* {
        if (void* p = host_symbol(name)) return p;
        if (extra)
            if (void* p = extra(name)) return p;
        return sanitizer_symbol(name);
    };
    std::unique_ptr<LibraryObject> lib(new LibraryObject());
    lib->code_ = ObjectCode::load(parts, resolve, error);
    if (!lib->code_) {
        error = "cannot load the protocol library: " + error;
        return nullptr;
    }
    const auto* id = static_cast<const char*>(lib->symbol(kHostIdSymbol));
    if (!id) {
        error = "not an mmt-journey protocol library: it does not say what it was built for";
        return nullptr;
    }
    if (host_id() != id) {
        error = "protocol library was built for another machine (" + std::string(id) +
                "; this one is " + host_id() + ")";
        return nullptr;
    }
    auto lookup = [&](const std::string& name) { return lib->symbol(name); };
    if (!join_parts(lookup, parts.size(), lib->protos_, lib->services_, error)) return nullptr;
    lib->parts_ = parts.size();
    lib->table_.abi_version = MMT_ABI_VERSION;
    lib->table_.n_protos = uint32_t(lib->protos_.size());
    lib->table_.protos = lib->protos_.data();
    lib->table_.n_services = uint32_t(lib->services_.size());
    lib->table_.services = lib->services_.data();
    return lib;
}

} // namespace mmt
