// Generated code for field kinds: integers in both byte orders, bit fields, addresses
// and every form of bytes, on crafted, truncated and malformed packets.
#include "codegen_util.h"

using namespace mmtc::test;

TEST_CASE("integers of every width, big endian by default", "[codegen][fields]") {
    auto lib = Compiled::from(R"(
protocol ints {
    id 7;
    header { a : u8; b : u16; c : u24; d : u32; e : u64; }
    attribute a, b, c, d, e;
}
)");
    const mmt_proto& p = lib.proto("ints");
    Ctx ok(hex("01 0203 040506 0708090a 0b0c0d0e0f101112"));
    auto r = ok.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 18);
    CHECK(r.payload_len == 0);
    CHECK(ok.get(p, "a") == "1");
    CHECK(ok.get(p, "b") == std::to_string(0x0203));
    CHECK(ok.get(p, "c") == std::to_string(0x040506));
    CHECK(ok.get(p, "d") == std::to_string(0x0708090a));
    CHECK(ok.get(p, "e") == std::to_string(0x0b0c0d0e0f101112ull));

    // Every truncation blames the first field that does not fit, at its offset.
    const char* names[] = {"a", "b", "b", "c", "c", "c", "d", "d", "d",
                           "d", "e", "e", "e", "e", "e", "e", "e", "e"};
    const uint32_t offsets[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10, 10, 10, 10, 10, 10, 10};
    for (size_t n = 0; n < 18; ++n) {
        INFO("length " << n);
        std::vector<uint8_t> b(ok.bytes.begin(), ok.bytes.begin() + long(n));
        Ctx cut(b);
        CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, names[n], offsets[n]});
    }
    // A getter reads what fits, whatever follows.
    Ctx part(hex("01 0203 04"));
    CHECK(part.get(p, "a") == "1");
    CHECK(part.get(p, "b") == "515");
    CHECK(part.get(p, "c") == "<absent>");
    CHECK(part.get(p, "e") == "<absent>");
}

TEST_CASE("little endian protocols and per-field byte order", "[codegen][fields]") {
    auto lib = Compiled::from(R"(
protocol le {
    id 7;
    byteorder little;
    header { a : u16; b : u24; c : u32; d : u64; e : u16be; f : u32be; g : u8; }
    attribute a, b, c, d, e, f, g;
}
protocol mixed {
    id 8;
    header { a : u16le; b : u24le; c : u32le; d : u64le; e : u16; f : u16be; }
    attribute a, b, c, d, e, f;
}
)");
    const mmt_proto& le = lib.proto("le");
    Ctx c1(hex("0102 030405 06070809 0a0b0c0d0e0f1011 1213 14151617 ff"));
    CHECK(c1.validate(le).status == MMT_OK);
    CHECK(c1.get(le, "a") == std::to_string(0x0201));
    CHECK(c1.get(le, "b") == std::to_string(0x050403));
    CHECK(c1.get(le, "c") == std::to_string(0x09080706));
    CHECK(c1.get(le, "d") == std::to_string(0x11100f0e0d0c0b0aull));
    CHECK(c1.get(le, "e") == std::to_string(0x1213));
    CHECK(c1.get(le, "f") == std::to_string(0x14151617));
    CHECK(c1.get(le, "g") == "255");

    const mmt_proto& mx = lib.proto("mixed");
    Ctx c2(hex("0102 030405 06070809 0a0b0c0d0e0f1011 1213 1415"));
    CHECK(c2.validate(mx).status == MMT_OK);
    CHECK(c2.get(mx, "a") == std::to_string(0x0201));
    CHECK(c2.get(mx, "b") == std::to_string(0x050403));
    CHECK(c2.get(mx, "c") == std::to_string(0x09080706));
    CHECK(c2.get(mx, "d") == std::to_string(0x11100f0e0d0c0b0aull));
    CHECK(c2.get(mx, "e") == std::to_string(0x1213));
    CHECK(c2.get(mx, "f") == std::to_string(0x1415));
}

TEST_CASE("bit fields pack MSB first across byte boundaries", "[codegen][fields]") {
    auto lib = Compiled::from(R"(
protocol bits {
    id 7;
    header {
        a : u3;  b : u13;              // 16 bits: 3 + 13
        c : u4;  d : u12; e : u16;     // 4 + 12 bits, then a whole u16
        f : u20; g : u4;               // 24 bits: a 20-bit field
        h : u1;  _ : u6; i : u1;       // padding inside a group
        j : u64;
    }
    attribute a, b, c, d, e, f, g, h, i, j;
}
)");
    const mmt_proto& p = lib.proto("bits");
    // a=0b101 b=0x1234 -> 1011 0010 0011 0100 = b2 34
    // c=0xa d=0xbcd e=0xef01 -> ab cd ef 01
    // f=0x12345 g=0x6 -> 12 34 56
    // h=1 _=0 i=1 -> 81
    Ctx ok(hex("b234 abcdef01 123456 81 ffffffffffffffff"));
    auto r = ok.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 18);
    CHECK(ok.get(p, "a") == "5");
    CHECK(ok.get(p, "b") == std::to_string(0x1234));
    CHECK(ok.get(p, "c") == "10");
    CHECK(ok.get(p, "d") == std::to_string(0xbcd));
    CHECK(ok.get(p, "e") == std::to_string(0xef01));
    CHECK(ok.get(p, "f") == std::to_string(0x12345));
    CHECK(ok.get(p, "g") == "6");
    CHECK(ok.get(p, "h") == "1");
    CHECK(ok.get(p, "i") == "1");
    CHECK(ok.get(p, "j") == std::to_string(~0ull));

    // A group that does not fit is blamed on its first field.
    Ctx cut(hex("b234 ab"));
    CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, "c", 2});
    CHECK(cut.get(p, "b") == std::to_string(0x1234));
    CHECK(cut.get(p, "c") == "<absent>");
    CHECK(cut.get(p, "d") == "<absent>");
    Ctx cut2(hex("b234 abcd ef"));
    CHECK(validated(cut2, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, "e", 4});
    CHECK(cut2.get(p, "d") == std::to_string(0xbcd));
    CHECK(cut2.get(p, "e") == "<absent>");
    // The 20-bit field and its neighbour share three bytes.
    Ctx cut3(hex("b234 abcdef01 1234"));
    CHECK(validated(cut3, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, "f", 6});
}

TEST_CASE("a group that starts with padding is blamed on its first named field",
          "[codegen][fields]") {
    auto lib = Compiled::from(R"(
protocol pad {
    id 7;
    header { x : u8; _ : u2; y : u6; _ : u8; z : u8; }
    attribute x, y, z;
}
)");
    const mmt_proto& p = lib.proto("pad");
    Ctx ok(hex("01 3f 00 02"));
    CHECK(ok.validate(p).status == MMT_OK);
    CHECK(ok.get(p, "y") == "63");
    CHECK(ok.get(p, "z") == "2");
    Ctx cut(hex("01"));
    CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, "y", 1});
    // Standalone padding blames nobody.
    Ctx cut2(hex("01 3f"));
    CHECK(validated(cut2, p) == Expect{MMT_TRUNCATED, "-", 2});
}

TEST_CASE("bit names read single bits, MSB first", "[codegen][fields]") {
    auto lib = Compiled::from(R"(
protocol flags {
    id 7;
    header {
        _     : u7;
        flags : u9 { ns, cwr, ece, urg, ack, psh, rst, syn, fin };
        small : u8 { hi, mid };
    }
    attribute flags, ns, cwr, syn, fin, hi, mid;
    attribute syn_only : bool = syn and not ack;
}
)");
    const mmt_proto& p = lib.proto("flags");
    Ctx synack(hex("00 12 80")); // flags = 0x012: ack + syn; small = 0x80
    CHECK(synack.validate(p).status == MMT_OK);
    CHECK(synack.get(p, "flags") == "18");
    CHECK(synack.get(p, "ns") == "0");
    CHECK(synack.get(p, "syn") == "1");
    CHECK(synack.get(p, "fin") == "0");
    CHECK(synack.get(p, "hi") == "1");
    CHECK(synack.get(p, "mid") == "0");
    CHECK(synack.get(p, "syn_only") == "0");
    Ctx ns(hex("01 03 40")); // ns + syn + fin
    CHECK(ns.get(p, "ns") == "1");
    CHECK(ns.get(p, "cwr") == "0");
    CHECK(ns.get(p, "fin") == "1");
    CHECK(ns.get(p, "syn_only") == "1");
    CHECK(ns.get(p, "mid") == "1");
    bool present = false;
    mmt_value v = ns.value(p, "syn", present);
    CHECK(present);
    CHECK(v.type == MMT_T_BOOL);
}

TEST_CASE("addresses are views into the packet", "[codegen][fields]") {
    auto lib = Compiled::from(R"(
protocol addrs {
    id 7;
    header { m : mac; a : ipv4; b : ipv6; }
    attribute m, a, b;
    attribute same : bool = a == a;
}
)");
    const mmt_proto& p = lib.proto("addrs");
    std::vector<uint8_t> b = hex("020000000001 0a000001 20010db8000000000000000000000001");
    Ctx ok(b);
    CHECK(ok.validate(p).status == MMT_OK);
    bool present = false;
    mmt_value m = ok.value(p, "m", present);
    CHECK(present);
    CHECK(m.type == MMT_T_MAC);
    CHECK(m.len == 6);
    CHECK(m.ptr == ok.bytes.data());
    mmt_value a = ok.value(p, "a", present);
    CHECK(a.type == MMT_T_IPV4);
    CHECK(a.len == 4);
    CHECK(a.ptr == ok.bytes.data() + 6);
    mmt_value v6 = ok.value(p, "b", present);
    CHECK(v6.type == MMT_T_IPV6);
    CHECK(v6.len == 16);
    CHECK(v6.ptr == ok.bytes.data() + 10);
    CHECK(ok.get(p, "a") == "10.0.0.1");
    CHECK(ok.get(p, "same") == "1");
    for (size_t n : {size_t(0), size_t(5), size_t(9), size_t(25)}) {
        Ctx cut(std::vector<uint8_t>(b.begin(), b.begin() + long(n)));
        const char* blamed = n < 6 ? "m" : n < 10 ? "a" : "b";
        CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, blamed});
    }
}

TEST_CASE("bytes with a computed length", "[codegen][fields]") {
    auto lib = Compiled::from(R"(
protocol blob {
    id 7;
    header {
        n    : u8;
        data : bytes[n - 2];
        tail : u8;
    }
    attribute n, data, tail;
    attribute size : u32 = len(data);
}
)");
    const mmt_proto& p = lib.proto("blob");
    Ctx ok(hex("05 414243 09"));
    auto r = ok.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 5);
    CHECK(ok.get(p, "data") == "ABC");
    CHECK(ok.get(p, "size") == "3");
    CHECK(ok.get(p, "tail") == "9");
    bool present = false;
    mmt_value v = ok.value(p, "data", present);
    CHECK(v.type == MMT_T_BYTES);
    CHECK(v.ptr == ok.bytes.data() + 1);

    Ctx empty(hex("02 07"));
    CHECK(empty.validate(p).status == MMT_OK);
    CHECK(empty.get(p, "data") == "");
    CHECK(empty.get(p, "tail") == "7");

    Ctx negative(hex("01 07"));
    CHECK(validated(negative, p) == Expect{MMT_MALFORMED, MMT_FAIL_LENGTH, "data", 1});
    CHECK(negative.get(p, "data") == "<absent>");
    CHECK(negative.get(p, "n") == "1");

    Ctx tooLong(hex("09 4142"));
    CHECK(validated(tooLong, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, "data", 1});

    Ctx noTail(hex("05 414243"));
    CHECK(validated(noTail, p) == Expect{MMT_TRUNCATED, "tail", 4});
    CHECK(noTail.get(p, "data") == "ABC");
}

TEST_CASE("bytes to the end and fixed-size bytes", "[codegen][fields]") {
    auto lib = Compiled::from(R"(
protocol rest {
    id 7;
    header { magic : bytes[2]; kind : u8; }
    body { all : bytes; }
    attribute magic, kind, all;
}
)");
    const mmt_proto& p = lib.proto("rest");
    Ctx ok(hex("cafe 01 010203"));
    auto r = ok.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 3);
    CHECK(r.payload_len == 3);
    CHECK(ok.get(p, "all") == "\x01\x02\x03");
    CHECK(ok.get(p, "magic") == "\xca\xfe");
    Ctx noBody(hex("cafe 01"));
    CHECK(noBody.validate(p).status == MMT_OK);
    CHECK(noBody.get(p, "all") == "");
    Ctx cut(hex("ca"));
    CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, "magic"});
}

TEST_CASE("bytes until a terminator, with and without a cap", "[codegen][fields]") {
    auto lib = Compiled::from(R"(
protocol text {
    id 7;
    header {
        line  : bytes until "\r\n";
        word  : bytes until " " max 4;
        after : u8;
    }
    attribute line, word, after;
}
)");
    const mmt_proto& p = lib.proto("text");
    Ctx ok(std::string("GET /\r\nabcd X"));
    auto r = ok.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 13);
    CHECK(ok.get(p, "line") == "GET /");
    CHECK(ok.get(p, "word") == "abcd");
    CHECK(ok.get(p, "after") == "88");

    Ctx empty(std::string("\r\n X"));
    CHECK(empty.validate(p).status == MMT_OK);
    CHECK(empty.get(p, "line") == "");
    CHECK(empty.get(p, "word") == "");

    Ctx missing(std::string("GET /\r"));
    CHECK(validated(missing, p) == Expect{MMT_TRUNCATED, MMT_FAIL_TERMINATOR, "line", 0});

    // Five bytes and no space: the cap of 4 is broken whatever follows.
    Ctx capped(std::string("x\r\nabcde X"));
    CHECK(validated(capped, p) == Expect{MMT_MALFORMED, MMT_FAIL_CAP, "word", 3});
    // Exactly cap + terminator bytes, no terminator: also broken.
    Ctx capped2(std::string("x\r\nabcde"));
    CHECK(validated(capped2, p) == Expect{MMT_MALFORMED, MMT_FAIL_CAP});
    // Fewer bytes than that: the word may still end, the packet is cut short.
    Ctx shortWord(std::string("x\r\nabcd"));
    CHECK(validated(shortWord, p) == Expect{MMT_TRUNCATED, MMT_FAIL_TERMINATOR, "word"});
}

TEST_CASE("variable-length integers: 7 bits a byte, and QUIC's size prefix", "[codegen][fields]") {
    auto lib = Compiled::from(R"(
protocol vi {
    id 7;
    header {
        a : varint;
        b : quic_varint;
        c : varint max 2;
        n : varint;
        s : bytes[n];
        z : u8;
    }
    attribute a, b, c, n, s, z;
    attribute sum : u64 = a + b + c;
}
)");
    const mmt_proto& p = lib.proto("vi");
    // a = 0x7f + (0x7f << 7) + (1 << 14) = 32767 in three bytes; b = QUIC's 4-byte
    // example of RFC 9000 (0x9d7f3e7d = 494878333); c = 5 in one byte; n = 2.
    Ctx ok(hex("ff ff 01  9d 7f 3e 7d  05  02 6869  2a"));
    auto r = ok.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 12);
    CHECK(ok.get(p, "a") == "32767");
    CHECK(ok.get(p, "b") == "494878333");
    CHECK(ok.get(p, "c") == "5");
    CHECK(ok.get(p, "n") == "2");
    CHECK(ok.get(p, "s") == "hi");
    CHECK(ok.get(p, "z") == "42");
    CHECK(ok.get(p, "sum") == std::to_string(32767 + 494878333 + 5));

    // QUIC's other sizes: 1 byte (0x25 = 37), 2 bytes (0x7bbd = 15293), 8 bytes.
    Ctx q1(hex("00  25  00 00 2a"));
    CHECK(q1.validate(p).status == MMT_OK);
    CHECK(q1.get(p, "b") == "37");
    CHECK(q1.get(p, "z") == "42");
    Ctx q2(hex("00  7b bd  00 00 2a"));
    CHECK(q2.validate(p).status == MMT_OK);
    CHECK(q2.get(p, "b") == "15293");
    Ctx q8(hex("00  c2 19 7c 5e ff 14 e8 8c  00 00 2a"));
    CHECK(q8.validate(p).status == MMT_OK);
    CHECK(q8.get(p, "b") == "151288809941952652");
    CHECK(q8.get(p, "z") == "42");

    // The largest 4-byte varint, and one that goes on past its maximum: malformed.
    Ctx four(hex("ff ff ff 7f  00  00 00 2a"));
    CHECK(four.validate(p).status == MMT_OK);
    CHECK(four.get(p, "a") == std::to_string((1u << 28) - 1));
    Ctx five(hex("ff ff ff ff 01  00  00 00 2a"));
    CHECK(validated(five, p) == Expect{MMT_MALFORMED, MMT_FAIL_CAP, "a", 0});
    // `max 2` allows two bytes only.
    Ctx three(hex("00 00 80 80 01 00 2a"));
    CHECK(validated(three, p) == Expect{MMT_MALFORMED, "c", 2});

    // Cut inside a varint: truncated, blamed on it at its start.
    for (const char* bytes : {"ff ff", "00 9d 7f", "00 c2 19 7c 5e ff 14 e8", "00 00 80"}) {
        INFO(bytes);
        Ctx cut(hex(bytes));
        CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS});
    }
    Ctx cutA(hex("ff ff"));
    CHECK(validated(cutA, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, "a", 0});
    Ctx cutB(hex("00 9d 7f"));
    CHECK(validated(cutB, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, "b", 1});
    // A getter reads what fits.
    CHECK(cutB.get(p, "a") == "0");
    CHECK(cutB.get(p, "b") == "<absent>");
}

TEST_CASE("size_of and offset of a variable-length integer, shortest or not", "[codegen][fields]") {
    auto lib = Compiled::from(R"(
protocol vs {
    id 7;
    header {
        kind : u8;
        n : varint;
        switch (kind) {
            1 => { q : quic_varint; }
            default => { }
        }
        _ : bytes;
    }
    attribute n;
    attribute n_at : u32 = offset(n);
    attribute n_size : u32 = size_of(n);
    attribute q_at : u32 = offset(q);
    attribute q_size : u32 = size_of(q);
}
)");
    const mmt_proto& p = lib.proto("vs");
    // 5 in one byte, then in three (a sender may pad with continuation bytes).
    Ctx shortest(hex("00  05"));
    REQUIRE(shortest.validate(p).status == MMT_OK);
    CHECK(shortest.get(p, "n") == "5");
    CHECK(shortest.get(p, "n_at") == "1");
    CHECK(shortest.get(p, "n_size") == "1");
    CHECK(shortest.get(p, "q_size") == "<absent>");
    Ctx padded(hex("00  85 80 00"));
    REQUIRE(padded.validate(p).status == MMT_OK);
    CHECK(padded.get(p, "n") == "5");
    CHECK(padded.get(p, "n_size") == "3");
    // In a switch arm: a QUIC varint of 4 bytes after a 2-byte varint.
    Ctx arm(hex("01  85 00  9d 7f 3e 7d"));
    REQUIRE(arm.validate(p).status == MMT_OK);
    CHECK(arm.get(p, "q_at") == "3");
    CHECK(arm.get(p, "q_size") == "4");
}
