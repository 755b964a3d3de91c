// Ahead of time and the cache: objects written by mmtc build load instead of compiling,
// a second start with unchanged specs skips compilation, and what is foreign or damaged
// is refused or rebuilt, never trusted.
#include "loader/library_object.h"
#include "loader/object_loader.h"
#include "loader/spec_cache.h"
#include "mmt/abi.h"
#include "mmtc/compiler.h"
#include "mmtc/stamp.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace fs = std::filesystem;

namespace {

const char* kSpec = R"(
protocol cache_demo {
    id 950;
    header { a : u16; b : u16; }
    attribute a, b;
    attribute sum : u32 = a + b;
}
)";

/// A fresh empty folder, removed at the end.
struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/mmt-objects-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::unique_ptr<mmtc::Compiler> checked(const std::string& spec) {
    auto c = std::make_unique<mmtc::Compiler>();
    c->addSource("cache.mmtp", spec);
    REQUIRE(c->check());
    return c;
}

/// The library's `sum` of a = 1, b = 2 (3 when the code works).
uint64_t sumOf(const mmtc::Library& lib) {
    const mmt_library* t = lib.table();
    for (uint32_t i = 0; i < t->n_protos; ++i) {
        const mmt_proto& p = t->protos[i];
        if (std::string(p.name) != "cache_demo") continue;
        uint8_t bytes[] = {0, 1, 0, 2};
        mmt_ctx ctx{};
        ctx.data = bytes;
        ctx.len = sizeof bytes;
        for (uint32_t a = 0; a < p.n_attrs; ++a)
            if (std::string(p.attrs[a].name) == "sum") {
                mmt_value v{};
                REQUIRE(p.attrs[a].get(&ctx, &v) == 1);
                return v.u;
            }
    }
    FAIL("no cache_demo.sum");
    return 0;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

TEST_CASE("an object written ahead of time loads and runs like a compiled library", "[objects]") {
    TempDir dir;
    auto c = checked(kSpec);
    std::string error;
    std::string file = (dir.path / "lib.o").string();
    REQUIRE(c->writeObject(file, error));
    auto lib = mmtc::loadObject(file, error);
    INFO(error);
    REQUIRE(lib);
    CHECK(lib->origin() == mmtc::Library::Origin::Object);
    CHECK(lib->table()->abi_version == MMT_ABI_VERSION);
    CHECK(std::string(lib->table()->protos[0].name) == "frame");
    CHECK(sumOf(*lib) == 3);
}

TEST_CASE("MMT_PERF_MAP names the loaded functions for profilers", "[objects]") {
    TempDir dir;
    auto c = checked(kSpec);
    std::string error;
    std::string file = (dir.path / "lib.o").string();
    REQUIRE(c->writeObject(file, error));
    const fs::path map = "/tmp/perf-" + std::to_string(::getpid()) + ".map";
    std::error_code ec;
    fs::remove(map, ec);
    ::setenv("MMT_PERF_MAP", "1", 1);
    auto lib = mmtc::loadObject(file, error);
    ::unsetenv("MMT_PERF_MAP");
    INFO(error);
    REQUIRE(lib);
    const std::string text = slurp(map);
    fs::remove(map, ec);
    // One line per function: address and size in hex, then the name; the getter of
    // cache_demo.sum is where the table says it is.
    const mmt_library* t = lib->table();
    uintptr_t sum = 0;
    for (uint32_t i = 0; i < t->n_protos; ++i)
        for (uint32_t a = 0; a < t->protos[i].n_attrs; ++a)
            if (std::string(t->protos[i].attrs[a].name) == "sum")
                sum = reinterpret_cast<uintptr_t>(t->protos[i].attrs[a].get);
    REQUIRE(sum != 0);
    std::istringstream lines(text);
    std::string line;
    bool found = false;
    while (std::getline(lines, line)) {
        unsigned long addr = 0, size = 0;
        char name[256] = {};
        REQUIRE(std::sscanf(line.c_str(), "%lx %lx %255s", &addr, &size, name) == 3);
        CHECK(size > 0);
        if (std::string(name) == "cache_demo.get.sum") {
            found = true;
            CHECK(addr == sum);
        }
    }
    CHECK(found);
}

TEST_CASE("objects that are not ours, or damaged, are refused with a message", "[objects]") {
    TempDir dir;
    std::string error;
    auto missing = mmtc::loadObject((dir.path / "nope.o").string(), error);
    CHECK_FALSE(missing);
    CHECK(error.find("cannot read") != std::string::npos);

    std::string junk = (dir.path / "junk.o").string();
    std::ofstream(junk) << "not an object at all";
    error.clear();
    CHECK_FALSE(mmtc::loadObject(junk, error));
    CHECK(error.find("not an mmt-journey protocol library") != std::string::npos);

    // A real object cut short.
    auto c = checked(kSpec);
    std::string good = (dir.path / "good.o").string();
    REQUIRE(c->writeObject(good, error));
    std::string bytes = slurp(good);
    std::string cut = (dir.path / "cut.o").string();
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    error.clear();
    CHECK_FALSE(mmtc::loadObject(cut, error));
    CHECK_FALSE(error.empty());
}

TEST_CASE(
    "the cache: a second start skips compilation; a changed spec or a damaged entry recompiles",
    "[objects]") {
    TempDir dir;
    std::string error;
    auto first = checked(kSpec)->compileCached(dir.path.string(), error);
    INFO(error);
    REQUIRE(first);
    CHECK(first->origin() == mmtc::Library::Origin::Compiled);
    size_t entries =
        size_t(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()));
    CHECK(entries == 1);

    // Unchanged specs: loaded from the cache, without even checking them.
    mmtc::Compiler again;
    again.addSource("cache.mmtp", kSpec);
    auto second = again.compileCached(dir.path.string(), error);
    REQUIRE(second);
    CHECK(second->origin() == mmtc::Library::Origin::Cache);
    CHECK(sumOf(*second) == 3);

    // A changed spec: another key, compiled again.
    std::string changed = std::string(kSpec).replace(std::string(kSpec).find("a + b"), 5, "a * b");
    auto third = checked(changed)->compileCached(dir.path.string(), error);
    REQUIRE(third);
    CHECK(third->origin() == mmtc::Library::Origin::Compiled);
    CHECK(sumOf(*third) == 2);

    // A damaged entry is rebuilt, not trusted.
    for (const auto& e : fs::directory_iterator(dir.path))
        std::ofstream(e.path(), std::ios::trunc) << "garbage";
    auto fourth = checked(kSpec)->compileCached(dir.path.string(), error);
    REQUIRE(fourth);
    CHECK(fourth->origin() == mmtc::Library::Origin::Compiled);
    CHECK(sumOf(*fourth) == 3);
}

TEST_CASE("the cache key covers the specs, the compiler and the machine", "[objects]") {
    auto a = checked(kSpec);
    auto b = checked(kSpec);
    CHECK(a->cacheKey() == b->cacheKey());
    CHECK(a->cacheKey().size() == 16);
    auto c = checked(std::string(kSpec) + "// a comment changes the text\n");
    CHECK(c->cacheKey() != a->cacheKey());
}

TEST_CASE("the cache key is computed the same without the compiler", "[objects][cache]") {
    // mmtrun finds a cache hit with libmmt_core's cache_key(), never linking the compiler.
    auto c = checked(kSpec);
    CHECK(mmt::cache_key(mmt_compiler_identity(), {kSpec}) == c->cacheKey());
    CHECK(mmt::cache_key(mmt_compiler_identity(), {"ab", "c"}) !=
          mmt::cache_key(mmt_compiler_identity(), {"a", "bc"}));
    CHECK(mmt::cache_key("another compiler", {kSpec}) != c->cacheKey());
    // Folders give their .mmtp files sorted, as the compiler reads them.
    TempDir dir;
    fs::create_directories(dir.path / "sub");
    for (const char* f : {"b.mmtp", "a.mmtp", "sub/c.mmtp", "notes.txt"})
        std::ofstream(dir.path / f) << "protocol x {}\n";
    std::vector<std::string> files;
    std::string error;
    REQUIRE(mmt::spec_files(dir.path.string(), files, error));
    CHECK(files == std::vector<std::string>{(dir.path / "a.mmtp").string(),
                                            (dir.path / "b.mmtp").string(),
                                            (dir.path / "sub/c.mmtp").string()});
    CHECK_FALSE(mmt::spec_files((dir.path / "none").string(), files, error));
    CHECK(error.find("no such file or directory") != std::string::npos);
}

TEST_CASE("the cache keeps its most recently used entries", "[objects][cache]") {
    TempDir dir;
    auto entry = [&](int i) { return (dir.path / fmt::format("{:016x}.o", i)).string(); };
    const auto now = fs::file_time_type::clock::now();
    for (int i = 0; i < 5; ++i) {
        std::ofstream(entry(i)) << "object";
        fs::last_write_time(entry(i), now - std::chrono::hours(10 - i)); // 4 is the newest
    }
    std::ofstream(dir.path / "notes.txt") << "not an entry";
    setenv("MMT_CACHE_ENTRIES", "3", 1);
    mmt::prune_cache(dir.path.string());
    CHECK_FALSE(fs::exists(entry(0)));
    CHECK_FALSE(fs::exists(entry(1)));
    CHECK(fs::exists(entry(2)));
    CHECK(fs::exists(entry(4)));
    CHECK(fs::exists(dir.path / "notes.txt"));
    // A hit marks its entry as used: it outlives newer ones.
    mmt::touch_cache_entry(entry(2));
    setenv("MMT_CACHE_ENTRIES", "1", 1);
    mmt::prune_cache(dir.path.string());
    CHECK(fs::exists(entry(2)));
    CHECK_FALSE(fs::exists(entry(3)));
    CHECK_FALSE(fs::exists(entry(4)));
    unsetenv("MMT_CACHE_ENTRIES");
    CHECK(mmt::cache_capacity() == 64);
}

TEST_CASE("mmtc emit-llvm shows the IR and --time-passes where the time went", "[objects]") {
    auto c = checked(kSpec);
    std::string ir, error;
    REQUIRE(c->emitLLVM(true, ir, error));
    CHECK(ir.find("cache_demo.get.sum") != std::string::npos);
    CHECK(ir.find("mmt_library_v4_part0") != std::string::npos);
    std::string t = c->timings();
    for (const char* phase : {"parse", "check", "lower", "optimize", "codegen"})
        CHECK(t.find(phase) != std::string::npos);
}

TEST_CASE("the object loader refuses damaged objects with a message and never crashes",
          "[objects]") {
    auto c = checked(kSpec);
    TempDir dir;
    std::string error;
    std::string file = (dir.path / "lib.o").string();
    REQUIRE(c->writeObject(file, error));
    const std::string pack = slurp(file);
    // The container: magic, count, then each part's length and bytes (jit.cpp).
    REQUIRE(pack.size() > 24);
    auto get64 = [&](size_t at) {
        uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(pack[at + i])) << (8 * i);
        return v;
    };
    std::vector<std::string> parts;
    for (size_t pos = 16, n = get64(8); n-- > 0;) {
        uint64_t len = get64(pos);
        parts.push_back(pack.substr(pos + 8, len));
        pos += 8 + len;
    }
    REQUIRE(!parts.empty());
    // Helpers resolve to an address that is never called: the code is only linked. Under
    // the asan preset, the generated code also calls AddressSanitizer's runtime, resolved
    // as the runtime's loader does.
    auto load = [](const std::vector<std::string>& objects, std::string& why) {
        std::vector<std::string_view> views(objects.begin(), objects.end());
        auto helpers = [](std::string_view name) -> void* {
            if (name.substr(0, 7) == "mmt_rt_") return reinterpret_cast<void*>(&std::abort);
            return mmt::sanitizer_symbol(name);
        };
        why.clear();
        return mmt::ObjectCode::load(views, helpers, why) != nullptr;
    };
    CHECK(load(parts, error));

    std::vector<std::string> bad = parts;
    bad[0][18] = 0x28; // e_machine: AArch64
    CHECK_FALSE(load(bad, error));
    CHECK(error == "not a relocatable x86-64 object");

    bad = parts;
    bad[0].resize(40);
    CHECK_FALSE(load(bad, error));
    CHECK(error.find("ELF") != std::string::npos);

    // A symbol nobody defines.
    auto none = [](std::string_view) -> void* { return nullptr; };
    std::vector<std::string_view> views(parts.begin(), parts.end());
    CHECK_FALSE(mmt::ObjectCode::load(views, none, error));
    CHECK(error.find("undefined symbol 'mmt_rt_") == 0);

    // Any byte damaged: loaded or refused, never a crash or a write outside the mapping.
    for (size_t at = 0; at < parts[0].size(); at += 97) {
        bad = parts;
        bad[0][at] = char(~bad[0][at]);
        load(bad, error);
    }
}
