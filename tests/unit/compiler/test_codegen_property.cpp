// Property test: every generated function of the built-in library, on 100,000 random and
// mutated packets, never reads outside the packet (each packet is its own heap block of
// exactly its length, so AddressSanitizer sees any overrun), never misbehaves, and returns
// values that respect the ABI. Run alone with: compiler_tests "[property]".
// MMT_PROPERTY_SEED=n changes the random sequence (the default is fixed: failures replay).
#include "codegen_util.h"
#include "library_packets.h"
#include "stage_checker.h"

#include <cstdlib>
#include <random>

using namespace mmtc::test;
using mmt::test::Exact;
using mmt::test::StageChecker;

namespace {

constexpr int kIterations = 100000;

using Bytes = std::vector<uint8_t>;

/// A mutated copy of one of the seeds (or random bytes).
Bytes mutate(std::mt19937_64& rng, const std::vector<Bytes>& seeds) {
    auto pick = [&](size_t n) { return n ? size_t(rng() % n) : 0; };
    Bytes b = seeds[pick(seeds.size())];
    switch (rng() % 8) {
    case 0: { // random bytes
        b.resize(pick(300));
        for (auto& x : b) x = uint8_t(rng());
        return b;
    }
    case 1: // truncated
        b.resize(pick(b.size() + 1));
        return b;
    case 2: { // splice: the head of one seed, the tail of another
        const Bytes& o = seeds[pick(seeds.size())];
        size_t cut = pick(b.size() + 1), from = pick(o.size() + 1);
        b.resize(cut);
        b.insert(b.end(), o.begin() + long(from), o.end());
        return b;
    }
    default:
        break;
    }
    // Flips and extreme lengths, a few of them.
    int n = 1 + int(rng() % 4);
    for (int i = 0; i < n && !b.empty(); ++i) {
        size_t at = pick(b.size());
        switch (rng() % 6) {
        case 0:
            b[at] ^= uint8_t(1u << (rng() % 8));
            break;
        case 1:
            b[at] = uint8_t(rng());
            break;
        case 2:
            b[at] = (rng() & 1) ? 0xff : 0x00;
            break;
        case 3: // a 16-bit length field set to an extreme
            if (at + 1 < b.size()) {
                static const uint16_t extremes[] = {0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff};
                uint16_t v = extremes[rng() % 6];
                b[at] = uint8_t(v >> 8);
                b[at + 1] = uint8_t(v);
            }
            break;
        case 4:
            b.insert(b.begin() + long(at), uint8_t(rng()));
            break;
        default:
            b.erase(b.begin() + long(at));
            break;
        }
    }
    if (rng() % 4 == 0) b.resize(pick(b.size() + 1));
    return b;
}

const Compiled& library() {
    static Compiled lib = Compiled::from("", /*withBuiltin=*/true);
    return lib;
}

} // namespace

TEST_CASE("every function of the built-in library is safe on random and mutated packets",
          "[codegen][property]") {
    const mmt_library* t = library().lib->table();
    int failures = 0;
    StageChecker chk(t, [&](const char* what, const mmt_proto& p) {
        if (++failures <= 20) FAIL_CHECK(what << " (" << p.name << ")");
    });
    uint64_t seed = 0x6d6d74;
    if (const char* s = std::getenv("MMT_PROPERTY_SEED")) seed = std::strtoull(s, nullptr, 0);
    INFO("MMT_PROPERTY_SEED=" << seed);
    std::mt19937_64 rng(seed);

    std::vector<Bytes> seeds = {packets::ethIpv4TcpHttp(), packets::ethIpv6UdpDns(),
                                packets::ethVlanIpv4Icmp()};
    for (auto& s : packets::extraSeeds()) seeds.push_back(s);
    // Each layer of each seed is a seed too, for the protocols run directly on it.
    size_t whole = seeds.size();
    for (size_t i = 0; i < whole; ++i)
        for (size_t off : {14, 18, 34, 38, 54, 58, 62})
            if (off < seeds[i].size())
                seeds.push_back(Bytes(seeds[i].begin() + long(off), seeds[i].end()));

    static const uint32_t linktypes[] = {1, 1, 1, 101, 0, 113, 276, 228, 229, 12, 14, 104, 108};
    int iterations = 0;
    // Every truncation of every whole seed first, then random mutations.
    for (size_t i = 0; i < whole; ++i)
        for (size_t n = 0; n <= seeds[i].size() && iterations < kIterations; ++n, ++iterations) {
            Exact pkt(Bytes(seeds[i].begin(), seeds[i].begin() + long(n)));
            chk.journey(pkt.p, uint32_t(pkt.n), 1, uint32_t(n & 1));
        }
    while (iterations < kIterations) {
        Exact pkt(mutate(rng, seeds));
        ++iterations;
        // Along the classify chain, then every protocol directly on the bytes, half of the
        // time with a parent context of some protocol of the library.
        chk.journey(pkt.p, uint32_t(pkt.n),
                    linktypes[rng() % (sizeof linktypes / sizeof linktypes[0])],
                    uint32_t(rng() & 1));
        mmt_ctx parent{};
        parent.data = pkt.p;
        parent.len = uint32_t(pkt.n);
        for (uint32_t i = 1; i < t->n_protos; ++i) {
            mmt_ctx c{};
            c.data = pkt.p;
            c.len = uint32_t(pkt.n);
            c.direction = uint32_t(rng() & 1);
            if (rng() & 1) {
                c.parent = &parent;
                c.parent_id = t->protos[rng() % t->n_protos].id;
            }
            chk.runAll(t->protos[i], c);
        }
    }
    CHECK(iterations == kIterations);
    CHECK(failures == 0);
    INFO("calls " << chk.calls << ", checksum " << chk.sink);
    CHECK(chk.calls > uint64_t(kIterations) * t->n_protos);
}
