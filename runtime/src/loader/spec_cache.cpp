#include "loader/spec_cache.h"

#include "loader/library_object.h"
#include "mmt/abi.h"
#include "util/hash.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>

namespace mmt {

namespace fs = std::filesystem;

namespace {

/// FNV-1a of one field of the key, then a separator, so that ("ab","c") and ("a","bc")
/// differ.
uint64_t add_field(uint64_t h, std::string_view s) {
    h = fnv1a(h, s.data(), s.size());
    h ^= 0xff;
    h *= 0x100000001b3ull;
    return h;
}

} // namespace

std::string default_cache_dir() {
    if (const char* d = std::getenv("MMT_CACHE_DIR"); d && *d) return d;
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
        return std::string(x) + "/mmt-journey";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/mmt-journey";
    return "/tmp/mmt-journey-cache";
}

bool spec_files(const std::string& path, std::vector<std::string>& files, std::string& error) {
    std::error_code ec;
    auto st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
        error = "cannot read '" + path + "': no such file or directory";
        return false;
    }
    if (!fs::is_directory(st)) {
        files.push_back(path);
        return true;
    }
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file() && it->path().extension() == ".mmtp")
            found.push_back(it->path().string());
    if (ec) {
        error = "cannot read '" + path + "': " + ec.message();
        return false;
    }
    if (found.empty()) {
        error = "no .mmtp files found in '" + path + "'";
        return false;
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
    return true;
}

bool read_spec(const std::string& path, std::string& text, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read '" + path + "': " + std::strerror(errno);
        return false;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
        error = "cannot read '" + path + "': read error";
        return false;
    }
    text = ss.str();
    return true;
}

std::string cache_key(std::string_view compiler_identity, const std::vector<std::string>& texts) {
    uint64_t h = 0xcbf29ce484222325ull;
    h = add_field(h, compiler_identity);
    h = add_field(h, "abi " + std::to_string(MMT_ABI_VERSION));
    h = add_field(h, host_id());
#if defined(__SANITIZE_ADDRESS__)
    h = add_field(h, "asan"); // generated code checks its reads in sanitizer builds
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    h = add_field(h, "asan");
#endif
#endif
    for (const auto& t : texts) h = add_field(h, t);
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

std::string cache_entry(const std::string& cache_dir, const std::string& key) {
    return cache_dir + "/" + key + ".o";
}

size_t cache_capacity() {
    if (const char* e = std::getenv("MMT_CACHE_ENTRIES"); e && *e) {
        char* end = nullptr;
        unsigned long long n = std::strtoull(e, &end, 10);
        if (end && *end == 0 && n > 0) return size_t(n);
    }
    return 64;
}

void touch_cache_entry(const std::string& entry) {
    utimensat(AT_FDCWD, entry.c_str(), nullptr, 0);
}

void prune_cache(const std::string& cache_dir) {
    std::error_code ec;
    std::vector<std::pair<fs::file_time_type, fs::path>> entries;
    for (auto it = fs::directory_iterator(cache_dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
        const fs::path& p = it->path();
        // Only what the cache writes: 16 hex digits and ".o".
        if (p.extension() != ".o" || p.stem().string().size() != 16) continue;
        auto when = fs::last_write_time(p, ec);
        if (!ec) entries.emplace_back(when, p);
        ec.clear();
    }
    const size_t keep = cache_capacity();
    if (entries.size() <= keep) return;
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = keep; i < entries.size(); ++i) fs::remove(entries[i].second, ec);
}

} // namespace mmt
