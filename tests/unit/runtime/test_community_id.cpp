// The Community ID v1 against the test vectors the specification publishes
// (https://github.com/corelight/community-id-spec, baseline/README.md: the tables for the
// default seed and for seed 1).
#include "mmt/runtime.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <string>
#include <vector>

namespace {

std::vector<uint8_t> address(const std::string& text) {
    std::vector<uint8_t> a(text.find(':') == std::string::npos ? 4 : 16);
    REQUIRE(inet_pton(a.size() == 4 ? AF_INET : AF_INET6, text.c_str(), a.data()) == 1);
    return a;
}

struct Vector {
    uint8_t proto;
    const char* src;
    const char* dst;
    uint16_t sport, dport;
    const char* seed0;
    const char* seed1;
};

const char* kV6a = "fe80:0001:0203:0405:0607:0809:0A0B:0C0D";
const char* kV6b = "fe80:1011:1213:1415:1617:1819:1A1B:1C1D";

// clang-format off
const Vector kVectors[] = {
    {6,   "1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM=", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
    {6,   "5.6.7.8", "1.2.3.4", 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM=", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
    {17,  "1.2.3.4", "5.6.7.8", 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "1:OShq+iKDAMVouh/4bMxB9Sz4amw="},
    {17,  "5.6.7.8", "1.2.3.4", 3344, 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "1:OShq+iKDAMVouh/4bMxB9Sz4amw="},
    {132, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=", "1:uitchpn5MMGAQKBJh7bIr/bAr7s="},
    {132, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=", "1:uitchpn5MMGAQKBJh7bIr/bAr7s="},
    {1,   "1.2.3.4", "5.6.7.8", 8,    0,    "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="},
    {1,   "5.6.7.8", "1.2.3.4", 0,    0,    "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="},
    {1,   "1.2.3.4", "5.6.7.8", 11,   0,    "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=", "1:1DD7cWGC/Yg91YGsQeni8du3pIA="},
    {58,  kV6a,      kV6b,      128,  0,    "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="},
    {58,  kV6b,      kV6a,      129,  0,    "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="},
    {58,  kV6a,      kV6b,      146,  0,    "1:fYC8+pz24E+EhANP1EZhpX0Dw10=", "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s="},
    {46,  "1.2.3.4", "5.6.7.8", 0,    0,    "1:ikv3kmf89luf73WPz1jOs49S768=", "1:/buhqeOmaRCopOZFy9HnoJd5XW8="},
    {46,  "5.6.7.8", "1.2.3.4", 0,    0,    "1:ikv3kmf89luf73WPz1jOs49S768=", "1:/buhqeOmaRCopOZFy9HnoJd5XW8="},
    {46,  kV6a,      kV6b,      0,    0,    "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=", "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="},
    {46,  kV6b,      kV6a,      0,    0,    "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=", "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="},
};
// clang-format on

} // namespace

TEST_CASE("Community ID v1: the specification's test vectors", "[community-id]") {
    for (const Vector& v : kVectors) {
        INFO(int(v.proto) << " " << v.src << ":" << v.sport << " -> " << v.dst << ":" << v.dport);
        auto src = address(v.src), dst = address(v.dst);
        CHECK(mmt::community_id_v1(src, dst, v.proto, v.sport, v.dport) == v.seed0);
        CHECK(mmt::community_id_v1(src, dst, v.proto, v.sport, v.dport, 1) == v.seed1);
    }
    // Addresses of different sizes have no ID.
    CHECK(mmt::community_id_v1(address("1.2.3.4"), address(kV6a), 6, 1, 2).empty());
}
