// Host helpers of generated code, against plain reference implementations.
#include "codegen/host_table.h"
#include "helpers/host.h"
#include "loader/library_object.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <random>
#include <string>
#include <vector>

namespace {

int64_t naiveFind(const std::vector<uint8_t>& h, const std::vector<uint8_t>& n) {
    if (h.empty() || n.empty() || n.size() > h.size()) return -1;
    for (size_t i = 0; i + n.size() <= h.size(); ++i)
        if (std::equal(n.begin(), n.end(), h.begin() + long(i))) return int64_t(i);
    return -1;
}

std::vector<uint8_t> bytes(const std::string& s) {
    return {s.begin(), s.end()};
}

int64_t find(const std::vector<uint8_t>& h, const std::vector<uint8_t>& n) {
    return mmt_rt_find(h.data(), int64_t(h.size()), n.data(), int64_t(n.size()));
}

} // namespace

TEST_CASE("mmt_rt_run_of: how many first bytes equal one value", "[host]") {
    auto run = [](const std::vector<uint8_t>& b, int value) {
        return mmt_rt_run_of(b.data(), int64_t(b.size()), value);
    };
    CHECK(run({}, 0) == 0);
    CHECK(run({1}, 0) == 0);
    CHECK(run({0, 0, 1, 0}, 0) == 2);
    for (size_t n = 0; n < 40; ++n) {
        std::vector<uint8_t> b(n, 0xaa);
        CHECK(run(b, 0xaa) == int64_t(n)); // to the end, whatever its length
        for (size_t at = 0; at < n; ++at) {
            std::vector<uint8_t> cut = b;
            cut[at] = 0xab;
            CHECK(run(cut, 0xaa) == int64_t(at)); // a word's first, middle or last byte
        }
    }
    // Only the first n bytes count.
    std::vector<uint8_t> more(16, 0);
    CHECK(mmt_rt_run_of(more.data(), 5, 0) == 5);
}

TEST_CASE("mmt_rt_find: the first occurrence, or -1", "[host]") {
    CHECK(find(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody"), bytes("\r\n\r\n")) == 23);
    CHECK(find(bytes("a\r\r\n\r\r\n\r\n"), bytes("\r\n\r\n")) == 5);
    CHECK(find(bytes("name: value"), bytes(":")) == 4);
    CHECK(find(bytes("abc"), bytes("abc")) == 0);
    CHECK(find(bytes("abc"), bytes("abcd")) == -1);
    CHECK(find(bytes("ab"), bytes("b")) == 1);
    CHECK(find(bytes("aaaab"), bytes("ab")) == 3);
    CHECK(find(bytes(""), bytes("a")) == -1);
    CHECK(find(bytes("a"), bytes("")) == -1);
    CHECK(find(bytes("xx--boundary-of-many-bytes--"), bytes("boundary-of-many")) == 4);

    // Short and long needles over small alphabets, where near misses are the rule.
    std::mt19937 rng(11);
    for (int t = 0; t < 20000; ++t) {
        std::vector<uint8_t> h(rng() % 64), n(1 + rng() % 12);
        for (auto& c : h) c = uint8_t("ab\r\n"[rng() % 4]);
        for (auto& c : n) c = uint8_t("ab\r\n"[rng() % 4]);
        if (!h.empty() && rng() % 2) { // plant the needle
            size_t at = rng() % h.size();
            for (size_t i = 0; i < n.size() && at + i < h.size(); ++i) h[at + i] = n[i];
        }
        REQUIRE(find(h, n) == naiveFind(h, n));
    }
}

TEST_CASE("mmt_rt_match_any: starts, starts ignoring case, ends, contains", "[host]") {
    // A count, then (length, bytes) per literal.
    std::vector<uint8_t> table = {3, 4, 'G', 'E', 'T', ' ', 2, '\r', '\n', 0};
    auto match = [&](const std::string& s, int mode) {
        return mmt_rt_match_any(reinterpret_cast<const uint8_t*>(s.data()), int64_t(s.size()),
                                table.data(), mode);
    };
    CHECK(match("GET / HTTP/1.1", 0) == 1);
    CHECK(match("get / HTTP/1.1", 0) == 1); // the empty literal starts everything
    table[0] = 2;                           // without the empty literal
    CHECK(match("get / HTTP/1.1", 0) == 0);
    CHECK(match("get / HTTP/1.1", 1) == 1);
    CHECK(match("GEX", 0) == 0);
    CHECK(match("line\r\n", 2) == 1);
    CHECK(match("line\r", 2) == 0);
    CHECK(match("\n", 2) == 0);
    CHECK(match("a GET b", 3) == 1);
    CHECK(match("a GE", 3) == 0);
    CHECK(match("", 0) == 0);
}

namespace {

/// A packet's scratch memory of `size` bytes and a context that uses it.
struct PacketMemory {
    explicit PacketMemory(size_t size) : arena(size) {
        scratch = mmt_scratch{arena.data(), uint32_t(arena.size()), 0};
        ctx.scratch = &scratch;
    }
    PacketMemory(const PacketMemory&) = delete;
    PacketMemory& operator=(const PacketMemory&) = delete;
    std::vector<uint8_t> arena;
    mmt_scratch scratch{};
    mmt_ctx ctx{};
};

std::vector<uint8_t> hexBytes(const std::string& h) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(uint8_t(std::stoul(h.substr(i, 2), nullptr, 16)));
    return out;
}

/// A CRYPTO frame at offset 0 of `n` (< 64) bytes counting up from `first`, then
/// `padding` PADDING frames: an Initial's payload.
std::vector<uint8_t> cryptoFrame(uint8_t n, uint8_t first, size_t padding) {
    std::vector<uint8_t> payload = {0x06, 0x00, n};
    for (uint8_t i = 0; i < n; ++i) payload.push_back(uint8_t(first + i));
    payload.insert(payload.end(), padding, 0x00);
    return payload;
}

/// A client Initial protected with keys given from outside (the published ones), as a
/// sender would: AES-128-GCM over the payload, then header protection (RFC 9001 5.3, 5.4).
std::vector<uint8_t> protectInitial(uint32_t version, uint8_t firstByte,
                                    const std::vector<uint8_t>& dcid,
                                    const std::vector<uint8_t>& payload, uint32_t pn,
                                    const std::string& keyHex, const std::string& ivHex,
                                    const std::string& hpHex, size_t& pnOffset) {
    auto key = hexBytes(keyHex), iv = hexBytes(ivHex), hp = hexBytes(hpHex);
    std::vector<uint8_t> p;
    p.reserve(64 + payload.size()); // GCC 12's -Warray-bounds misjudges inserts otherwise
    for (uint8_t b : {firstByte, uint8_t(version >> 24), uint8_t(version >> 16),
                      uint8_t(version >> 8), uint8_t(version), uint8_t(dcid.size())})
        p.push_back(b);
    p.insert(p.end(), dcid.begin(), dcid.end());
    p.push_back(0); // no source connection id
    p.push_back(0); // no token
    size_t length = 4 + payload.size() + 16;
    p.push_back(uint8_t(0x40 | (length >> 8)));
    p.push_back(uint8_t(length));
    pnOffset = p.size();
    for (int i = 3; i >= 0; --i) p.push_back(uint8_t(pn >> (8 * i)));
    for (int i = 0; i < 4; ++i) iv[11 - size_t(i)] ^= uint8_t(pn >> (8 * i));
    std::vector<uint8_t> sealed(payload.size() + 16);
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    int len = 0;
    REQUIRE(EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, nullptr, nullptr));
    REQUIRE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr));
    REQUIRE(EVP_EncryptInit_ex(c, nullptr, nullptr, key.data(), iv.data()));
    REQUIRE(EVP_EncryptUpdate(c, nullptr, &len, p.data(), int(p.size())));
    REQUIRE(EVP_EncryptUpdate(c, sealed.data(), &len, payload.data(), int(payload.size())));
    REQUIRE(EVP_EncryptFinal_ex(c, sealed.data() + len, &len));
    REQUIRE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, sealed.data() + payload.size()));
    p.insert(p.end(), sealed.begin(), sealed.end());
    uint8_t mask[32];
    REQUIRE(EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), nullptr, hp.data(), nullptr));
    EVP_CIPHER_CTX_set_padding(c, 0);
    REQUIRE(EVP_EncryptUpdate(c, mask, &len, p.data() + pnOffset + 4, 16));
    EVP_CIPHER_CTX_free(c);
    p[0] ^= mask[0] & 0x0f;
    for (size_t i = 0; i < 4; ++i) p[pnOffset + i] ^= mask[1 + i];
    return p;
}

} // namespace

TEST_CASE("mmt_rt_quic_initial: the keys of RFC 9001 and RFC 9369's examples", "[host]") {
    // The destination connection id of the examples (RFC 9001 appendix A.1, RFC 9369
    // appendix A.1) and the client keys they derive from it.
    const auto dcid = hexBytes("8394c8f03e515708");
    std::vector<uint8_t> payload = {0x06, 0x00, 0x40, 0x20}; // CRYPTO, offset 0, 32 bytes
    for (uint8_t i = 0; i < 32; ++i) payload.push_back(uint8_t(0x30 + i));
    payload.insert(payload.end(), 40, 0x00); // PADDING
    struct Case {
        uint32_t version;
        uint8_t first; // long header, Initial (v1: type 0, v2: type 1), 4-byte packet number
        const char *key, *iv, *hp;
    };
    for (const Case& k : {Case{1, 0xc3, "1f369613dd76d5467730efcbe3b1a22d",
                               "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"},
                          Case{0x6b3343cf, 0xd3, "8b1a0bc121284290a29e0971b5cd045d",
                               "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"}}) {
        size_t pnOffset = 0;
        auto packet =
            protectInitial(k.version, k.first, dcid, payload, 2, k.key, k.iv, k.hp, pnOffset);
        PacketMemory m(4096);
        const uint8_t* plain = nullptr;
        int64_t n =
            mmt_rt_quic_initial(&m.ctx, packet.data(), int64_t(packet.size()), int64_t(pnOffset),
                                k.version, 0, dcid.data(), int64_t(dcid.size()), &plain);
        REQUIRE(n == int64_t(payload.size()));
        CHECK(std::vector<uint8_t>(plain, plain + n) == payload);
        // Another connection id, a damaged byte or a version without keys: nothing.
        auto other = hexBytes("8394c8f03e515709");
        CHECK(mmt_rt_quic_initial(&m.ctx, packet.data(), int64_t(packet.size()), int64_t(pnOffset),
                                  k.version, 0, other.data(), int64_t(other.size()), &plain) == -1);
        auto damaged = packet;
        damaged[damaged.size() - 20] ^= 1;
        CHECK(mmt_rt_quic_initial(&m.ctx, damaged.data(), int64_t(damaged.size()),
                                  int64_t(pnOffset), k.version, 0, dcid.data(),
                                  int64_t(dcid.size()), &plain) == -1);
        CHECK(mmt_rt_quic_initial(&m.ctx, packet.data(), int64_t(packet.size()), int64_t(pnOffset),
                                  0x12345678, 0, dcid.data(), int64_t(dcid.size()), &plain) == -1);
        // Too short to hold the sample of header protection.
        CHECK(mmt_rt_quic_initial(&m.ctx, packet.data(), int64_t(pnOffset + 10), int64_t(pnOffset),
                                  k.version, 0, dcid.data(), int64_t(dcid.size()), &plain) == -1);
    }
}

TEST_CASE("mmt_rt_quic_initial: a server's Initial, with the keys of RFC 9001's example",
          "[host]") {
    // RFC 9001 appendix A.1: the server's keys derive from the client's connection id.
    const auto dcid = hexBytes("8394c8f03e515708");
    const auto payload = cryptoFrame(16, 0x40, 20);
    size_t pnOffset = 0;
    auto packet =
        protectInitial(1, 0xc3, dcid, payload, 1, "cf3a5331653c364c88f0f379b6067e37",
                       "0ac1493ca1905853b0bba03e", "c206b8d9b9f0f37644430b490eeaa314", pnOffset);
    PacketMemory m(4096);
    const uint8_t* plain = nullptr;
    int64_t n =
        mmt_rt_quic_initial(&m.ctx, packet.data(), int64_t(packet.size()), int64_t(pnOffset), 1, 1,
                            dcid.data(), int64_t(dcid.size()), &plain);
    REQUIRE(n == int64_t(payload.size()));
    CHECK(std::vector<uint8_t>(plain, plain + n) == payload);
    // The client's keys do not open it.
    CHECK(mmt_rt_quic_initial(&m.ctx, packet.data(), int64_t(packet.size()), int64_t(pnOffset), 1,
                              0, dcid.data(), int64_t(dcid.size()), &plain) == -1);
}

TEST_CASE("mmt_rt_quic_initial: a header whose reserved bits are not 0 is not opened", "[host]") {
    // RFC 9000 section 17.2: the reserved bits (0x0c of the first byte) are 0 under header
    // protection; the same packet with them set, sealed with the right keys, is refused.
    const auto dcid = hexBytes("8394c8f03e515708");
    const auto payload = cryptoFrame(8, 0x61, 30);
    PacketMemory m(4096);
    for (uint8_t reserved : {0x00, 0x04, 0x08, 0x0c}) {
        size_t pnOffset = 0;
        auto packet = protectInitial(1, uint8_t(0xc3 | reserved), dcid, payload, 2,
                                     "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c",
                                     "9f50449e04a0e810283a1e9933adedd2", pnOffset);
        const uint8_t* plain = nullptr;
        const int64_t n =
            mmt_rt_quic_initial(&m.ctx, packet.data(), int64_t(packet.size()), int64_t(pnOffset), 1,
                                0, dcid.data(), int64_t(dcid.size()), &plain);
        CHECK(n == (reserved == 0 ? int64_t(payload.size()) : -1));
    }
}

TEST_CASE("mmt_rt_quic_initial: a repeated decryption gives the same plaintext, in this "
          "packet's memory",
          "[host]") {
    const auto dcid = hexBytes("8394c8f03e515708");
    const auto payload = cryptoFrame(8, 0x61, 30);
    size_t pnOffset = 0;
    auto packet =
        protectInitial(1, 0xc3, dcid, payload, 3, "1f369613dd76d5467730efcbe3b1a22d",
                       "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2", pnOffset);
    PacketMemory m(4096);
    auto open = [&](const std::vector<uint8_t>& p, const std::vector<uint8_t>& id,
                    const uint8_t*& plain) {
        return mmt_rt_quic_initial(&m.ctx, p.data(), int64_t(p.size()), int64_t(pnOffset), 1, 0,
                                   id.data(), int64_t(id.size()), &plain);
    };
    const uint8_t *first = nullptr, *second = nullptr;
    REQUIRE(open(packet, dcid, first) == int64_t(payload.size()));
    const uint32_t used = m.scratch.used;
    REQUIRE(open(packet, dcid, second) == int64_t(payload.size()));
    // Its own copy, after the first: both stay valid until the packet ends.
    CHECK(second >= first + payload.size());
    CHECK(m.scratch.used == used + payload.size());
    CHECK(std::vector<uint8_t>(first, first + payload.size()) == payload);
    CHECK(std::vector<uint8_t>(second, second + payload.size()) == payload);
    // A failure repeats as a failure; then the right id still opens it.
    const auto other = hexBytes("8394c8f03e515709");
    CHECK(open(packet, other, second) == -1);
    CHECK(open(packet, other, second) == -1);
    REQUIRE(open(packet, dcid, second) == int64_t(payload.size()));
    CHECK(std::vector<uint8_t>(second, second + payload.size()) == payload);
    // The next packet in the same place (the memory reused): its own bytes count.
    m.scratch.used = 0;
    auto damaged = packet;
    damaged[damaged.size() - 20] ^= 1;
    CHECK(open(damaged, dcid, second) == -1);
    // No room left in this packet's memory: nothing, whatever was decrypted before.
    m.scratch.used = m.scratch.cap - 8;
    CHECK(open(packet, dcid, second) == -1);
}

TEST_CASE("mmt_rt_state_bytes: bytes kept in a session's state, up to their bound", "[host]") {
    uint8_t slot[8] = {};
    int64_t len = -1;
    mmt_rt_state_bytes_get(slot, &len);
    CHECK(len == 0); // empty at first
    const uint8_t abc[] = {'a', 'b', 'c'};
    CHECK(mmt_rt_state_bytes_set(slot, abc, 3, 4) == 1);
    const uint8_t* got = mmt_rt_state_bytes_get(slot, &len);
    REQUIRE(len == 3);
    CHECK(std::string(reinterpret_cast<const char*>(got), 3) == "abc");
    // A value built from the stored one replaces it.
    std::vector<uint8_t> more(got, got + len);
    more.push_back('d');
    CHECK(mmt_rt_state_bytes_set(slot, more.data(), 4, 4) == 1);
    got = mmt_rt_state_bytes_get(slot, &len);
    REQUIRE(len == 4);
    CHECK(std::string(reinterpret_cast<const char*>(got), 4) == "abcd");
    // Past the bound: refused, the value stays.
    more.push_back('e');
    CHECK(mmt_rt_state_bytes_set(slot, more.data(), 5, 4) == 0);
    mmt_rt_state_bytes_get(slot, &len);
    CHECK(len == 4);
    // Empty frees the block; so does the end of the session.
    CHECK(mmt_rt_state_bytes_set(slot, abc, 0, 4) == 1);
    mmt_rt_state_bytes_get(slot, &len);
    CHECK(len == 0);
    CHECK(mmt_rt_state_bytes_set(slot, abc, 2, 4) == 1);
    mmt_rt_state_bytes_free(slot);
    mmt_rt_state_bytes_get(slot, &len);
    CHECK(len == 0);
}

TEST_CASE("mmt_rt_digest, mmt_rt_append_int, mmt_rt_sort_ints", "[host]") {
    PacketMemory m(256);
    auto text = [&](int64_t n) {
        return std::string(
            reinterpret_cast<const char*>(m.arena.data()) + m.scratch.used - size_t(n), size_t(n));
    };
    // RFC 1321 appendix A.5 and FIPS 180-2 appendix B.1.
    const auto abc = bytes("abc");
    CHECK(text(mmt_rt_digest(&m.ctx, abc.data(), 3, 0)) == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(text(mmt_rt_digest(&m.ctx, abc.data(), 3, 1)) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    size_t before = m.scratch.used;
    mmt_rt_append_int(&m.ctx, 771, 0);
    mmt_rt_append_int(&m.ctx, 0x0a, 4);
    mmt_rt_append_int(&m.ctx, 0, 0);
    CHECK(text(int64_t(m.scratch.used - before)) == "771000a0");
    int64_t v[5] = {0xc02b, 0x1301, 0x002f, 0xcca9, 0x1301};
    mmt_rt_sort_ints(reinterpret_cast<uint8_t*>(v), 5);
    CHECK((v[0] == 0x002f && v[1] == 0x1301 && v[2] == 0x1301 && v[3] == 0xc02b && v[4] == 0xcca9));
    // A full scratch memory: -1 and nothing written.
    m.scratch.used = m.scratch.cap - 10;
    CHECK(mmt_rt_digest(&m.ctx, abc.data(), 3, 0) == -1);
    CHECK(m.scratch.used == m.scratch.cap - 10);
}

TEST_CASE("mmt_rt_scratch_append and mmt_rt_append_int: every length and every digit", "[host]") {
    PacketMemory m(64);
    std::string source;
    for (int i = 0; i < 40; ++i) source += char('A' + i);
    for (int64_t n = 0; n <= 40; ++n) {
        m.scratch.used = 3;
        std::fill(m.arena.begin(), m.arena.end(), uint8_t('.'));
        const uint8_t* at =
            mmt_rt_scratch_append(&m.ctx, reinterpret_cast<const uint8_t*>(source.data()), n);
        REQUIRE(at == m.arena.data() + 3);
        CHECK(m.scratch.used == 3 + n);
        CHECK(std::string(m.arena.begin() + 3, m.arena.begin() + 3 + n) ==
              source.substr(0, size_t(n)));
        CHECK(m.arena[size_t(3 + n)] == '.'); // nothing past the end
    }
    // No room: null, nothing written.
    m.scratch.used = m.scratch.cap - 4;
    CHECK(mmt_rt_scratch_append(&m.ctx, reinterpret_cast<const uint8_t*>(source.data()), 5) ==
          nullptr);
    CHECK(m.scratch.used == m.scratch.cap - 4);
    auto appended = [&](int64_t v, int32_t digits) {
        m.scratch.used = 0;
        const uint8_t* at = mmt_rt_append_int(&m.ctx, v, digits);
        REQUIRE(at == m.arena.data());
        return std::string(reinterpret_cast<const char*>(at), m.scratch.used);
    };
    uint64_t u = 1;
    for (int i = 0; i < 3000; ++i, u = u * 6364136223846793005ull + 1442695040888963407ull) {
        for (uint64_t x : {u, u >> 20, u >> 40, u >> 56, uint64_t(i)}) {
            CHECK(appended(int64_t(x), 0) == std::to_string(x));
            for (int32_t d : {1, 2, 4, 8})
                CHECK(appended(int64_t(x), d) == fmt::format("{:0{}x}", x, d));
        }
    }
}

TEST_CASE("every host function is declared in IR with its C++ type", "[host]") {
    // One table yields the IR declarations and the JIT's symbols; its IR types are
    // written by hand, so hold each to the type derived from the C++ function.
    std::vector<std::string> bad = mmtc::codegen::hostSignatureMismatches();
    for (const std::string& b : bad) UNSCOPED_INFO(b);
    CHECK(bad.empty());
    unsigned declared = 0;
    for (const mmtc::codegen::HostFn& h : mmtc::codegen::hostFunctions()) {
        CHECK(h.address != nullptr);
        declared += h.irType != nullptr;
    }
    CHECK(declared >= 20);
}

TEST_CASE("the loader links generated code against the functions the code generator declares",
          "[host]") {
    // The compiler's table (IR declarations, ORC's symbols) and the runtime's (what
    // mmt::ObjectCode resolves) name the same functions at the same addresses.
    const auto& declared = mmtc::codegen::hostFunctions();
    for (const auto& h : declared) {
        INFO(h.name);
        CHECK(mmt::host_symbol(h.name) == h.address);
    }
    CHECK(mmt::host_symbol_count() == declared.size());
}
