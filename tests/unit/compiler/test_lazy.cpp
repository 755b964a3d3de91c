// Lazy compilation: a library whose protocols compile when first called has the same
// table as one compiled at once, compiles nothing before a call, compiles a protocol
// once (whatever the threads), and computes the same values.
#include "mmt/abi.h"
#include "mmtc/compiler.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

const char* kSpecs = R"(
protocol lazy_a {
    id 951;
    header { a : u8; b : u8; c : u16; }
    attribute a, b, c;
    attribute sum : u32 = a + b + c;
}
protocol lazy_b {
    id 952;
    header { x : u8; y : u8; }
    attribute x;
    attribute product : u32 = x * y;
}
)";

std::unique_ptr<mmtc::Library> build(bool lazily, bool builtin = false) {
    mmtc::Compiler c;
    if (builtin)
        REQUIRE(c.addPath(mmtc::builtinSpecDir()));
    else
        c.addSource("lazy.mmtp", kSpecs);
    REQUIRE(c.check());
    std::string error;
    auto lib = lazily    ? c.compileLazily(error)
               : builtin ? c.compileCached(mmtc::defaultCacheDir(), error)
                         : c.compile(error);
    INFO(error);
    REQUIRE(lib);
    return lib;
}

const mmt_proto& protoOf(const mmtc::Library& lib, const char* name) {
    const mmt_library* t = lib.table();
    for (uint32_t i = 0; i < t->n_protos; ++i)
        if (std::strcmp(t->protos[i].name, name) == 0) return t->protos[i];
    FAIL("no protocol " << name);
    return t->protos[0];
}

/// Attribute `attr` of protocol `proto` over `bytes`, through its getter.
uint64_t valueOf(const mmtc::Library& lib, const char* proto, const char* attr,
                 std::vector<uint8_t> bytes) {
    const mmt_proto& p = protoOf(lib, proto);
    mmt_ctx ctx{};
    ctx.data = bytes.data();
    ctx.len = uint32_t(bytes.size());
    for (uint32_t a = 0; a < p.n_attrs; ++a)
        if (std::strcmp(p.attrs[a].name, attr) == 0) {
            mmt_value v{};
            REQUIRE(p.attrs[a].get(&ctx, &v) == 1);
            return v.u;
        }
    FAIL("no attribute " << proto << "." << attr);
    return 0;
}

/// Protocol and attribute names, in table order.
std::vector<std::string> namesOf(const mmtc::Library& lib) {
    std::vector<std::string> out;
    const mmt_library* t = lib.table();
    for (uint32_t i = 0; i < t->n_protos; ++i) {
        const mmt_proto& p = t->protos[i];
        out.push_back(p.name);
        for (uint32_t a = 0; a < p.n_attrs; ++a) out.push_back(std::string(" ") + p.attrs[a].name);
    }
    return out;
}

} // namespace

TEST_CASE("a lazy library compiles a protocol when one of its functions is first called",
          "[lazy]") {
    auto eager = build(false);
    auto lazy = build(true);
    CHECK(lazy->origin() == mmtc::Library::Origin::Lazy);
    CHECK(namesOf(*lazy) == namesOf(*eager));
    CHECK(lazy->table()->n_services == eager->table()->n_services);
    CHECK(lazy->protocolsCompiled() == 0);

    CHECK(valueOf(*lazy, "lazy_a", "sum", {0, 1, 0, 2}) == 3);
    CHECK(lazy->protocolsCompiled() == 1);
    // lazy_a's other functions came with it.
    CHECK(valueOf(*lazy, "lazy_a", "c", {0, 1, 0, 2}) == 2);
    CHECK(valueOf(*lazy, "lazy_a", "sum", {0, 7, 0, 9}) == 16);
    CHECK(lazy->protocolsCompiled() == 1);

    CHECK(valueOf(*lazy, "lazy_b", "product", {6, 7}) == 42);
    CHECK(valueOf(*eager, "lazy_b", "product", {6, 7}) == 42);
    CHECK(lazy->protocolsCompiled() == 2);
    CHECK(eager->protocolsCompiled() == 0);
}

TEST_CASE("threads that first call one protocol at once compile it once", "[lazy]") {
    auto lazy = build(true);
    std::vector<uint64_t> got(4);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < got.size(); ++i)
        threads.emplace_back([&, i] {
            mmt_ctx ctx{};
            uint8_t bytes[] = {0, uint8_t(i), 0, 10};
            ctx.data = bytes;
            ctx.len = sizeof bytes;
            const mmt_proto& p = protoOf(*lazy, "lazy_a");
            for (uint32_t a = 0; a < p.n_attrs; ++a)
                if (std::strcmp(p.attrs[a].name, "sum") == 0) {
                    mmt_value v{};
                    if (p.attrs[a].get(&ctx, &v) == 1) got[i] = v.u;
                }
        });
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == 10 + i);
    CHECK(lazy->protocolsCompiled() == 1);
}

TEST_CASE("the built-in library compiled lazily has the same table and compiles what a packet "
          "reaches",
          "[lazy]") {
    auto eager = build(false, true);
    auto lazy = build(true, true);
    CHECK(namesOf(*lazy) == namesOf(*eager));
    CHECK(lazy->table()->n_services == eager->table()->n_services);
    CHECK(lazy->protocolsCompiled() == 0);
    // init_state and release_state run for every session: the table has them compiled.
    const mmt_library* t = lazy->table();
    for (uint32_t i = 0; i < t->n_protos; ++i) {
        const mmt_proto& e = eager->table()->protos[i];
        CHECK((t->protos[i].init_state != nullptr) == (e.init_state != nullptr));
        CHECK((t->protos[i].classify != nullptr) == (e.classify != nullptr));
        CHECK(t->protos[i].state_size == e.state_size);
    }
    std::vector<uint8_t> ether = {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00, 0x45, 0};
    const mmt_proto& eth = protoOf(*lazy, "ethernet");
    mmt_ctx ctx{};
    ctx.data = ether.data();
    ctx.len = uint32_t(ether.size());
    mmt_parse_result lazyResult{}, eagerResult{};
    const int32_t status = eth.validate(&ctx, &lazyResult);
    CHECK(status == protoOf(*eager, "ethernet").validate(&ctx, &eagerResult));
    CHECK(lazyResult.header_len == eagerResult.header_len);
    CHECK(lazy->protocolsCompiled() == 1);
}
