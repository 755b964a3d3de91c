// Host helpers of generated code, against plain reference implementations.
#include "codegen/host.h"

#include <catch2/catch.hpp>

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
