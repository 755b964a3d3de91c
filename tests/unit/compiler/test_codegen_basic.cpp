// Generated code: validate and getters on crafted packets for fixed and bit fields.
#include "codegen_util.h"

using namespace mmtc::test;

TEST_CASE("fixed fields, bit fields and both byte orders", "[codegen]") {
    auto lib = Compiled::from(R"(
protocol demo {
    id 7;
    header {
        version : u4 requires version == 4;
        ihl     : u4;
        word    : u16;
        little  : u16le;
        odd     : u24;
        flags   : u8 { a, b, c, d, e, f, g, h };
    }
    attribute version, ihl, word, little, odd, flags, a, h;
    attribute sum : u32 = word + little;
}
)");
    const mmt_proto& p = lib.proto("demo");
    Ctx ok(std::vector<uint8_t>{0x45, 0x12, 0x34, 0x34, 0x12, 0x01, 0x02, 0x03, 0x81});
    auto r = ok.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 9);
    CHECK(ok.get(p, "version") == "4");
    CHECK(ok.get(p, "ihl") == "5");
    CHECK(ok.get(p, "word") == "4660");
    CHECK(ok.get(p, "little") == "4660");
    CHECK(ok.get(p, "odd") == "66051");
    CHECK(ok.get(p, "a") == "1");
    CHECK(ok.get(p, "h") == "1");
    CHECK(ok.get(p, "sum") == "9320");

    Ctx bad(std::vector<uint8_t>{0x65, 0x12, 0x34, 0x34, 0x12, 0x01, 0x02, 0x03, 0x81});
    CHECK(validated(bad, p) == Expect{MMT_MALFORMED, MMT_FAIL_REQUIRES, "version"});

    Ctx cut(std::vector<uint8_t>{0x45, 0x12, 0x34, 0x34});
    CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, "little", 3});
}
