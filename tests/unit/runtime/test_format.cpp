// Value formatting: numbers, addresses (against the C library's inet_ntop on special and
// random addresses), MACs, bytes and text escapes.
#include "output/format.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <random>
#include <string>
#include <vector>

using namespace mmt;

namespace {

std::string fmtValue(uint32_t type, std::vector<uint8_t> bytes, uint64_t u = 0) {
    mmt_value v{};
    v.type = type;
    v.u = u;
    v.ptr = bytes.data();
    v.len = uint32_t(bytes.size());
    return format_value(v);
}

std::string ntop(int af, const uint8_t* a) {
    char buf[INET6_ADDRSTRLEN];
    REQUIRE(inet_ntop(af, a, buf, sizeof buf));
    return buf;
}

} // namespace

TEST_CASE("numbers and flags", "[format]") {
    CHECK(fmtValue(MMT_T_UINT, {}, 0) == "0");
    CHECK(fmtValue(MMT_T_UINT, {}, 443) == "443");
    CHECK(fmtValue(MMT_T_UINT, {}, ~uint64_t(0)) == "18446744073709551615");
    CHECK(fmtValue(MMT_T_BOOL, {}, 1) == "1");
    CHECK(fmtValue(MMT_T_BOOL, {}, 0) == "0");
}

TEST_CASE("decimals and times as flow records write them", "[format]") {
    std::string out;
    append_decimal(out, 0);
    out += ' ';
    append_decimal(out, 18446744073709551615ull);
    out += ' ';
    append_seconds(out, 1700000000000000042ull);
    out += ' ';
    append_seconds(out, 999999999);
    out += ' ';
    append_seconds(out, 0);
    CHECK(out == "0 18446744073709551615 1700000000.000000042 0.999999999 0.000000000");
    // Every digit of the fraction in its place, against printf.
    uint64_t ns = 1;
    for (int i = 0; i < 2000; ++i, ns = ns * 6364136223846793005ull + 1442695040888963407ull) {
        for (uint64_t t : {ns, ns % 1000000000u, ns % 100000u, ns / 1000u * 1000u}) {
            std::string got;
            append_seconds(got, t);
            CHECK(got == fmt::format("{}.{:09}", t / 1000000000u, t % 1000000000u));
        }
    }
}

TEST_CASE("integers in hexadecimal, padded as tshark pads them", "[format]") {
    mmt_value v{};
    v.type = MMT_T_UINT;
    v.u = 0xc0912052;
    CHECK(format_value(v, 8) == "0xc0912052");
    v.u = 0x12;
    CHECK(format_value(v, 8) == "0x00000012");
    CHECK(format_value(v, 2) == "0x12");
    CHECK(format_value(v, 0) == "18");
    v.u = 0;
    CHECK(format_value(v, 4) == "0x0000");
    // A value wider than the digits asked keeps all its digits.
    v.u = 0x12345;
    CHECK(format_value(v, 4) == "0x12345");
    v.u = ~uint64_t(0);
    CHECK(format_value(v, 16) == "0xffffffffffffffff");
    // Only integers: the other types ignore it.
    v.type = MMT_T_BOOL;
    v.u = 1;
    CHECK(format_value(v, 8) == "1");
}

TEST_CASE("addresses print as inet_ntop prints them", "[format]") {
    CHECK(fmtValue(MMT_T_IPV4, {192, 168, 0, 1}) == "192.168.0.1");
    CHECK(fmtValue(MMT_T_IPV4, {0, 0, 0, 0}) == "0.0.0.0");
    CHECK(fmtValue(MMT_T_IPV4, {255, 255, 255, 255}) == "255.255.255.255");
    CHECK(fmtValue(MMT_T_IPV4, {1, 2, 3}).empty()); // too short: nothing

    auto v6 = [](std::initializer_list<uint16_t> groups) {
        std::vector<uint8_t> b;
        for (uint16_t g : groups) {
            b.push_back(uint8_t(g >> 8));
            b.push_back(uint8_t(g));
        }
        return b;
    };
    const std::vector<std::pair<std::vector<uint8_t>, const char*>> cases = {
        {v6({0, 0, 0, 0, 0, 0, 0, 0}), "::"},
        {v6({0, 0, 0, 0, 0, 0, 0, 1}), "::1"},
        {v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}), "2001:db8::1"},
        {v6({0x2001, 0xdb8, 0, 1, 0, 0, 0, 1}), "2001:db8:0:1::1"},
        {v6({0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}), "2001:db8::1:0:0:1"},    // the first of equals
        {v6({0x2001, 0xdb8, 1, 2, 3, 4, 5, 0}), "2001:db8:1:2:3:4:5:0"}, // one zero group
        {v6({0xfe80, 0, 0, 0, 0, 0, 0, 0}), "fe80::"},
        {v6({0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304}), "::ffff:1.2.3.4"},
        {v6({0, 0, 0, 0, 0, 0, 0x0102, 0x0304}), "::1.2.3.4"},
        {v6({0xABCD, 0x00ef, 0, 0, 0, 0, 0, 0}), "abcd:ef::"},
    };
    for (const auto& [bytes, text] : cases) {
        INFO(text);
        CHECK(fmtValue(MMT_T_IPV6, bytes) == text);
        CHECK(ntop(AF_INET6, bytes.data()) == text);
    }
    // Random addresses, with zero groups likely.
    std::mt19937 rng(7);
    for (int n = 0; n < 20000; ++n) {
        std::vector<uint8_t> b(16);
        for (int g = 0; g < 8; ++g) {
            uint16_t w = rng() % 3 ? 0 : uint16_t(rng() % 4 ? rng() : rng() % 16);
            if (rng() % 17 == 0) w = 0xffff;
            b[size_t(2 * g)] = uint8_t(w >> 8);
            b[size_t(2 * g + 1)] = uint8_t(w);
        }
        std::vector<uint8_t> b4(b.begin(), b.begin() + 4);
        REQUIRE(fmtValue(MMT_T_IPV6, b) == ntop(AF_INET6, b.data()));
        REQUIRE(fmtValue(MMT_T_IPV4, b4) == ntop(AF_INET, b4.data()));
    }
}

TEST_CASE("MACs, bytes and text", "[format]") {
    CHECK(fmtValue(MMT_T_MAC, {0, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}) == "00:1b:21:aa:bb:cc");
    CHECK(fmtValue(MMT_T_BYTES, {0xde, 0xad, 0x01}) == "de:ad:01");
    CHECK(fmtValue(MMT_T_BYTES, {}).empty());
    std::string text = "a\\b\r\n\t\x01 \xc3\xa9 \xff";
    CHECK(fmtValue(MMT_T_STRING, std::vector<uint8_t>(text.begin(), text.end())) ==
          "a\\\\b\\r\\n\\t\\x01 \xc3\xa9 \\xff");
    // Random texts, each character escaped (or a valid UTF-8 sequence kept) as the
    // escapes above say, between runs of printable ones.
    auto expected = [](const std::vector<uint8_t>& b) {
        std::string out;
        for (size_t i = 0; i < b.size(); ++i) {
            uint8_t c = b[i];
            size_t u = 0;
            if (c >= 0xc2 && c <= 0xdf && i + 1 < b.size() && (b[i + 1] & 0xc0) == 0x80) u = 2;
            if (c == '\\')
                out += "\\\\";
            else if (c == '\r')
                out += "\\r";
            else if (c == '\n')
                out += "\\n";
            else if (c == '\t')
                out += "\\t";
            else if (c >= 0x20 && c < 0x7f)
                out += char(c);
            else if (u) {
                out.append(reinterpret_cast<const char*>(&b[i]), u);
                i += u - 1;
            } else
                out += fmt::format("\\x{:02x}", c);
        }
        return out;
    };
    std::mt19937 rng(11);
    // Two-byte UTF-8 sequences only: the bytes are drawn from those that make them.
    const std::string alphabet = std::string("ab .,\\\r\n\t\x01\x7f\xc3\xa9\xff", 14);
    for (int i = 0; i < 5000; ++i) {
        std::vector<uint8_t> b(rng() % 24);
        for (auto& c : b) c = uint8_t(alphabet[rng() % alphabet.size()]);
        CHECK(fmtValue(MMT_T_STRING, b) == expected(b));
    }
}

TEST_CASE("JSON strings are escaped once, from the value's bytes", "[format]") {
    auto json = [](uint32_t type, std::string bytes, uint64_t u = 0) {
        mmt_value v{};
        v.type = type;
        v.u = u;
        v.ptr = reinterpret_cast<const uint8_t*>(bytes.data());
        v.len = uint32_t(bytes.size());
        std::string out;
        append_json_value(out, v);
        return out;
    };
    // A backslash decodes back to one backslash; a quote, control characters, UTF-8 as it
    // is, and bytes that are not UTF-8 as \u00NN.
    CHECK(json(MMT_T_STRING, "C:\\dir \"x\"\r\n\t\x01") == R"("C:\\dir \"x\"\r\n\t\u0001")");
    CHECK(json(MMT_T_STRING, "caf\xc3\xa9 \xff\xc3") == "\"caf\xc3\xa9 \\u00ff\\u00c3\"");
    CHECK(json(MMT_T_UINT, "", 443) == "443");
    CHECK(json(MMT_T_BOOL, "", 1) == "1");
    CHECK(json(MMT_T_BOOL, "", 0) == "0");
    CHECK(json(MMT_T_IPV4, std::string("\x0a\x00\x00\x01", 4)) == R"("10.0.0.1")");
    CHECK(json(MMT_T_BYTES, "\x01\xab") == R"("01:ab")");
}

TEST_CASE("CSV cells are quoted when they hold a comma, a quote or a line break", "[format]") {
    auto csv = [](std::string_view cell) {
        std::string out = "x,";
        append_csv(out, cell);
        return out;
    };
    CHECK(csv("") == "x,");
    CHECK(csv("www.example.com") == "x,www.example.com");
    CHECK(csv("Mozilla/5.0 (KHTML, like Gecko)") == "x,\"Mozilla/5.0 (KHTML, like Gecko)\"");
    CHECK(csv("say \"hi\"") == "x,\"say \"\"hi\"\"\"");
    CHECK(csv("a\rb") == "x,\"a\rb\"");
    CHECK(csv("a\nb") == "x,\"a\nb\"");
    CHECK(csv("tab\tand;semicolon") == "x,tab\tand;semicolon");
}
