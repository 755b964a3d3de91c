// Generated code for structures: records, lists of every extent, conditional fields,
// switch, `requires`, computed values and the header and payload lengths.
#include "codegen_util.h"

using namespace mmtc::test;

TEST_CASE("nested records and records with a size", "[codegen][structures]") {
    auto lib = Compiled::from(R"(
protocol nest {
    id 7;
    record point { x : u8; y : u8; }
    record box { tl : point; br : point; }
    record tlv { type : u8; len : u8; value : bytes[len]; }
    header {
        b    : box;
        t    : tlv size 4;
        last : u8;
    }
    attribute x1 : u8 = b.tl.x;
    attribute y2 : u8 = b.br.y;
    attribute tv : bytes = t.value;
    attribute tt : u8 = t.type;
    attribute last;
}
)");
    const mmt_proto& p = lib.proto("nest");
    Ctx ok(hex("01020304 0901aa00 07"));
    auto r = ok.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 9);
    CHECK(ok.get(p, "x1") == "1");
    CHECK(ok.get(p, "y2") == "4");
    CHECK(ok.get(p, "tt") == "9");
    CHECK(ok.get(p, "tv") == "\xaa");
    // The size covers 4 bytes even though the record used 3: the leftover is skipped.
    CHECK(ok.get(p, "last") == "7");

    // A region that does not fit the data: truncated at the sized field.
    Ctx cut(hex("01020304 0901"));
    CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, "t", 4});
    CHECK(cut.get(p, "x1") == "1");
    CHECK(cut.get(p, "tv") == "<absent>");

    // Inside the region, a length that runs past its end is malformed, not truncated:
    // more data would not help.
    Ctx over(hex("01020304 0903aabb 07"));
    CHECK(validated(over, p) == Expect{MMT_MALFORMED, MMT_FAIL_LENGTH, "value", 6});

    // Nested record cut inside the second point.
    Ctx cut2(hex("010203"));
    CHECK(validated(cut2, p) == Expect{MMT_TRUNCATED, "y", 3});
}

TEST_CASE("lists by count, with and without max", "[codegen][structures]") {
    auto lib = Compiled::from(R"(
protocol counted {
    id 7;
    record item { k : u8; v : u16; }
    header {
        n     : u8;
        items : item[n] max 3;
        m     : u8;
        words : u16[m & 3];
        end   : u8;
    }
    attribute n, end;
    attribute count_items : u32 = len(items);
    attribute second_v : u16 = items[1].v;
    attribute first_k : u8 = first(items).k;
    attribute last_k : u8 = last(items).k;
    attribute w0 : u16 = words[0];
    attribute w2 : u16 = words[2];
    attribute nwords : u32 = count(words);
}
)");
    const mmt_proto& p = lib.proto("counted");
    Ctx ok(hex("03 010010 020020 030030 03 aaaa bbbb cccc ff"));
    auto r = ok.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 18);
    CHECK(ok.get(p, "count_items") == "3");
    CHECK(ok.get(p, "second_v") == std::to_string(0x20));
    CHECK(ok.get(p, "first_k") == "1");
    CHECK(ok.get(p, "last_k") == "3");
    CHECK(ok.get(p, "w0") == std::to_string(0xaaaa));
    CHECK(ok.get(p, "w2") == std::to_string(0xcccc));
    CHECK(ok.get(p, "nwords") == "3");
    CHECK(ok.get(p, "end") == "255");

    Ctx none(hex("00 00 ff"));
    CHECK(none.validate(p).status == MMT_OK);
    CHECK(none.get(p, "count_items") == "0");
    CHECK(none.get(p, "first_k") == "<absent>");
    CHECK(none.get(p, "last_k") == "<absent>");
    CHECK(none.get(p, "second_v") == "<absent>");
    CHECK(none.get(p, "end") == "255");

    // More elements than `max`: malformed, blamed on the list at the element's offset.
    Ctx many(hex("04 010010 020020 030030 040040 00 ff"));
    CHECK(validated(many, p) == Expect{MMT_MALFORMED, MMT_FAIL_CAP, "items", 10});
    CHECK(many.get(p, "n") == "4");

    // Cut inside the second element.
    Ctx cut(hex("03 010010 0200"));
    CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, "v", 5});
    // The first element is still there for whoever asks.
    CHECK(cut.get(p, "first_k") == "1");
    CHECK(cut.get(p, "end") == "<absent>");

    // Cut inside a list of integers.
    Ctx cut2(hex("00 03 aaaa bb"));
    CHECK(validated(cut2, p) == Expect{MMT_TRUNCATED, "words", 4});
}

TEST_CASE("lists filling a size, the rest, or up to a terminator", "[codegen][structures]") {
    auto lib = Compiled::from(R"(
protocol lists {
    id 7;
    record opt { kind : u8; len : u8; data : bytes[len]; }
    record line { text : bytes until "\n"; }
    header {
        optlen : u8;
        opts   : opt[] size optlen max 4;
        lines  : line[] until "." max 3;
        tail   : u16[] max 2;
    }
    attribute optlen;
    attribute nopts : u32 = len(opts);
    attribute kinds : u32 = opts[0].kind * 100 + opts[1].kind;
    attribute second_line : string = lines[1].text;
    attribute nlines : u32 = len(lines);
    attribute ntail : u32 = len(tail);
}
)");
    const mmt_proto& p = lib.proto("lists");
    Ctx ok(std::vector<uint8_t>{6, 1, 1, 0xaa, 2, 1, 0xbb, 'a', '\n', 'b', 'c', '\n', '.', 0, 1, 0,
                                2});
    auto r = ok.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 17);
    CHECK(ok.get(p, "nopts") == "2");
    CHECK(ok.get(p, "kinds") == "102");
    CHECK(ok.get(p, "second_line") == "bc");
    CHECK(ok.get(p, "nlines") == "2");
    CHECK(ok.get(p, "ntail") == "2");

    // An option that overruns the size is malformed.
    Ctx over(std::vector<uint8_t>{5, 1, 1, 0xaa, 2, 2, 0xbb, 0xcc, '.'});
    CHECK(validated(over, p) == Expect{MMT_MALFORMED, MMT_FAIL_LENGTH, "data", 6});

    // A size beyond the data is truncated, blamed on the list.
    Ctx big(std::vector<uint8_t>{9, 1, 1, 0xaa});
    CHECK(validated(big, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, "opts", 1});

    // No terminator before the data ends.
    Ctx noDot(std::vector<uint8_t>{0, 'a', '\n', 'b', '\n'});
    CHECK(validated(noDot, p) == Expect{MMT_TRUNCATED, MMT_FAIL_TERMINATOR, "lines", 5});

    // Too many lines.
    Ctx many(std::vector<uint8_t>{0, 'a', '\n', 'b', '\n', 'c', '\n', 'd', '\n', '.'});
    CHECK(validated(many, p) == Expect{MMT_MALFORMED, MMT_FAIL_CAP, "lines", 7});

    // The rest list: three u16 where two are allowed; then an odd byte.
    Ctx tail3(std::vector<uint8_t>{0, '.', 0, 1, 0, 2, 0, 3});
    CHECK(validated(tail3, p) == Expect{MMT_MALFORMED, MMT_FAIL_CAP, "tail"});
    Ctx odd(std::vector<uint8_t>{0, '.', 0, 1, 0});
    CHECK(validated(odd, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS, "tail", 4});
}

TEST_CASE("lists up to an element that satisfies a condition", "[codegen][structures]") {
    auto lib = Compiled::from(R"(
protocol names {
    id 7;
    record label { len : u8; text : bytes[len] if len > 0 and len < 0xc0; lo : u8 if len >= 0xc0; }
    record name { labels : label[] until (len == 0 or len >= 0xc0) max 5; }
    header { n : name; qtype : u16; }
    attribute qname : string = join(n.labels.text, ".");
    attribute nlabels : u32 = len(n.labels);
    attribute qtype;
    attribute pointer : u8 = last(n.labels).lo;
}
)");
    const mmt_proto& p = lib.proto("names");
    Ctx ok(hex("03 777777 07 6578616d706c65 03 636f6d 00 0001"));
    auto r = ok.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 19);
    CHECK(ok.get(p, "qname") == "www.example.com");
    CHECK(ok.get(p, "nlabels") == "4");
    CHECK(ok.get(p, "qtype") == "1");
    CHECK(ok.get(p, "pointer") == "<absent>");

    Ctx ptr(hex("03 777777 c0 0c 001c"));
    CHECK(ptr.validate(p).status == MMT_OK);
    CHECK(ptr.get(p, "qname") == "www");
    CHECK(ptr.get(p, "pointer") == "12");
    CHECK(ptr.get(p, "qtype") == "28");

    // The data ends before the closing label.
    Ctx cut(hex("03 777777"));
    CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, MMT_FAIL_TERMINATOR, "labels", 4});

    // Six labels where five are allowed.
    Ctx many(hex("0161 0161 0161 0161 0161 0161 00 0001"));
    CHECK(validated(many, p) == Expect{MMT_MALFORMED, MMT_FAIL_CAP, "labels", 10});
}

TEST_CASE("conditional fields", "[codegen][structures]") {
    auto lib = Compiled::from(R"(
protocol cond {
    id 7;
    header {
        flags : u8;
        opt   : u16 if flags & 1 == 1;
        more  : bytes[2] if flags & 2 == 2;
        last  : u8;
    }
    attribute flags, opt, more, last;
    attribute opt2 : u32 = opt * 2;
    attribute has_opt : bool = flags & 1 == 1;
    attribute size : u32 = len(more);
}
)");
    const mmt_proto& p = lib.proto("cond");
    Ctx both(hex("03 0102 aabb 09"));
    auto r = both.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 6);
    CHECK(both.get(p, "opt") == "258");
    CHECK(both.get(p, "opt2") == "516");
    CHECK(both.get(p, "more") == "\xaa\xbb");
    CHECK(both.get(p, "last") == "9");
    CHECK(both.get(p, "size") == "2");

    Ctx neither(hex("00 09"));
    r = neither.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 2);
    CHECK(neither.get(p, "opt") == "<absent>");
    CHECK(neither.get(p, "opt2") == "<absent>"); // computed from an absent field: absent
    CHECK(neither.get(p, "more") == "<absent>");
    CHECK(neither.get(p, "size") == "<absent>");
    CHECK(neither.get(p, "has_opt") == "0");
    CHECK(neither.get(p, "last") == "9");

    Ctx second(hex("02 aabb 09"));
    CHECK(second.validate(p).status == MMT_OK);
    CHECK(second.get(p, "opt") == "<absent>");
    CHECK(second.get(p, "more") == "\xaa\xbb");
    CHECK(second.get(p, "last") == "9");

    Ctx cut(hex("01 01"));
    CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, "opt", 1});
}

TEST_CASE("switch: cases, ranges, default, no match and size", "[codegen][structures]") {
    auto lib = Compiled::from(R"(
protocol sw {
    id 7;
    header {
        kind : u8;
        switch (kind) {
            1, 2 => a : u16;
            10..19 => { b : u8; c : u8; }
            30 => { }
            default => d : u32;
        }
        len : u8;
        switch (len) size len {
            0..3 => small : u8;
            4 => { big : u16; big2 : u8; }
        }
        tail : u8;
    }
    attribute kind, a, b, c, d, small, big, tail;
    attribute which : u8 = kind in { 1, 2 } ? 1 : 2;
}
)");
    const mmt_proto& p = lib.proto("sw");
    auto check = [&](const std::string& bytes,
                     const std::vector<std::pair<std::string, std::string>>& want, uint32_t hl) {
        INFO(bytes);
        Ctx c(hex(bytes));
        auto r = c.validate(p);
        CHECK(r.status == MMT_OK);
        CHECK(r.header_len == hl);
        for (const auto& [n, v] : want) {
            INFO(n);
            CHECK(c.get(p, n) == v);
        }
    };
    check("02 0102 01 aa 07",
          {{"a", "258"}, {"b", "<absent>"}, {"d", "<absent>"}, {"small", "170"}, {"tail", "7"}}, 6);
    check("0f 0304 02 aabb 07",
          {{"a", "<absent>"}, {"b", "3"}, {"c", "4"}, {"small", "170"}, {"tail", "7"}}, 7);
    check("1e 04 00010203 07",
          {{"a", "<absent>"},
           {"b", "<absent>"},
           {"d", "<absent>"},
           {"big", "1"},
           {"small", "<absent>"},
           {"tail", "7"}},
          7);
    check("63 00000005 07 00000000000000 07",
          {{"d", "5"}, {"small", "<absent>"}, {"big", "<absent>"}, {"tail", "7"}}, 14);
    // An empty switch region leaves no room for the arm it selects.
    Ctx empty(hex("1e 00 07"));
    CHECK(validated(empty, p) == Expect{MMT_MALFORMED, MMT_FAIL_LENGTH, "small", 2});
    // No arm matches a size of 9: the 9 bytes are skipped.
    check("1e 09 000000000000000000 07",
          {{"small", "<absent>"}, {"big", "<absent>"}, {"tail", "7"}}, 12);

    // An arm that needs more than the switch size is malformed.
    Ctx over(hex("1e 01 aa bb"));
    CHECK(over.validate(p).status == MMT_OK); // 1 byte for `small`: fits
    Ctx over2(hex("1e 04 0001 07"));
    // The size itself runs past the data.
    CHECK(validated(over2, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS});
    Ctx cut(hex("0f 03"));
    CHECK(validated(cut, p) == Expect{MMT_TRUNCATED, "c", 2});
}

TEST_CASE("switch size smaller than its arm", "[codegen][structures]") {
    auto lib = Compiled::from(R"(
protocol sw2 {
    id 7;
    header {
        kind : u8;
        n    : u8;
        switch (kind) size n {
            1 => v : u32;
        }
        tail : u8;
    }
    attribute v, tail;
}
)");
    const mmt_proto& p = lib.proto("sw2");
    Ctx ok(hex("01 04 00000009 07"));
    CHECK(ok.validate(p).status == MMT_OK);
    CHECK(ok.get(p, "v") == "9");
    CHECK(ok.get(p, "tail") == "7");
    Ctx small(hex("01 02 0000 07 07 07"));
    CHECK(validated(small, p) == Expect{MMT_MALFORMED, MMT_FAIL_LENGTH, "v", 2});
}

TEST_CASE("requires as a suffix and standalone, in header and body", "[codegen][structures]") {
    auto lib = Compiled::from(R"(
protocol req {
    id 7;
    header {
        version : u4 requires version == 4 requires version != 5;
        ihl     : u4 requires ihl >= 2;
        len     : u8;
        requires len >= ihl;
        opts    : bytes[ihl - 2];
    }
    body {
        count : u8 requires count < 3;
        requires count != 1;
        data  : bytes;
    }
    attribute version, ihl, len, count;
    event attribute data_event : bytes = data;
}
)");
    const mmt_proto& p = lib.proto("req");
    Ctx ok(hex("44 05 0000 02 ff"));
    auto r = ok.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 4);
    r = ok.analyse(p);
    CHECK(r.status == MMT_OK);
    CHECK(ok.raised(p, "data_event") == std::vector<std::string>{"\xff"});

    Ctx badVersion(hex("64 05 0000 02"));
    CHECK(validated(badVersion, p) == Expect{MMT_MALFORMED, MMT_FAIL_REQUIRES, "version", 0});
    // Getters do not re-check constraints: a malformed packet still shows its fields.
    CHECK(badVersion.get(p, "version") == "6");
    CHECK(badVersion.get(p, "len") == "5");

    Ctx badIhl(hex("41 05"));
    CHECK(validated(badIhl, p) == Expect{MMT_MALFORMED, "ihl", 0});

    // Standalone: no field to blame, the offset where it stands.
    Ctx badLen(hex("43 01 00 00"));
    CHECK(validated(badLen, p) == Expect{MMT_MALFORMED, MMT_FAIL_REQUIRES, "-", 2});

    // The body is checked by analyse.
    Ctx badCount(hex("44 05 0000 03 ff"));
    CHECK(badCount.validate(p).status == MMT_OK);
    CHECK(analysed(badCount, p) == Expect{MMT_MALFORMED, MMT_FAIL_REQUIRES, "count", 4});
    Ctx badCount1(hex("44 05 0000 01 ff"));
    CHECK(analysed(badCount1, p) == Expect{MMT_MALFORMED, "-", 5});
}

TEST_CASE("computed values", "[codegen][structures]") {
    auto lib = Compiled::from(R"(
protocol lets {
    id 7;
    header { a : u8; b : u8; n : u8; data : bytes[twice_n]; }
    let sum = a + b;
    let twice_n = n * 2;
    let big = sum > 10;
    attribute total : u16 = sum;
    attribute large : bool = big;
    attribute data;
}
)");
    const mmt_proto& p = lib.proto("lets");
    Ctx c(hex("05 07 01 aabb"));
    CHECK(c.validate(p).status == MMT_OK);
    CHECK(c.get(p, "total") == "12");
    CHECK(c.get(p, "large") == "1");
    CHECK(c.get(p, "data") == "\xaa\xbb");
}

TEST_CASE("header_length and payload_length", "[codegen][structures]") {
    auto lib = Compiled::from(R"(
protocol iplike {
    id 7;
    header {
        ihl   : u8 requires ihl >= 1;
        total : u16;
    }
    header_length = ihl * 4;
    payload_length = total - ihl * 4;
    attribute ihl, total;
}
protocol plain {
    id 8;
    header { a : u8; }
    attribute a;
}
)");
    const mmt_proto& p = lib.proto("iplike");
    // A 4-byte header and a payload of 3 declared and present.
    Ctx exact(hex("01 0007 00 aabbcc"));
    auto r = exact.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 4);
    CHECK(r.payload_len == 3);
    CHECK(r.payload_truncated == 0);
    // Padding after the declared payload is not payload.
    Ctx padded(hex("01 0007 00 aabbcc 0000"));
    r = padded.validate(p);
    CHECK(r.payload_len == 3);
    CHECK(r.payload_truncated == 0);
    // A declared payload longer than the data is clamped and flagged.
    Ctx cut(hex("01 0010 00 aa"));
    r = cut.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.payload_len == 1);
    CHECK(r.payload_truncated == 1);
    // A negative payload length is malformed.
    Ctx neg(hex("02 0004 00 00000000"));
    CHECK(validated(neg, p) == Expect{MMT_MALFORMED, MMT_FAIL_LENGTH});
    // A header length beyond the data is truncated.
    Ctx shortHdr(hex("03 0020 00 00"));
    CHECK(validated(shortHdr, p) == Expect{MMT_TRUNCATED, MMT_FAIL_BOUNDS});
    // A header length shorter than the fields is malformed.
    auto lib2 = Compiled::from(R"(
protocol shorthdr {
    id 9;
    header { n : u8; x : u16; }
    header_length = n;
    attribute n;
}
)");
    const mmt_proto& q = lib2.proto("shorthdr");
    Ctx tooShort(hex("02 0000"));
    CHECK(validated(tooShort, q) == Expect{MMT_MALFORMED, MMT_FAIL_LENGTH});
    Ctx fine(hex("05 0000 aabb cc"));
    r = fine.validate(q);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 5);
    CHECK(r.payload_len == 1);

    const mmt_proto& plain = lib.proto("plain");
    Ctx pl(hex("01 02 03"));
    r = plain.validate ? pl.validate(plain) : mmt_parse_result{};
    CHECK(r.header_len == 1);
    CHECK(r.payload_len == 2);
}

TEST_CASE("getters read only what they need", "[codegen][structures]") {
    auto lib = Compiled::from(R"(
protocol lazy {
    id 7;
    record opt { kind : u8 requires kind != 0; len : u8; data : bytes[len]; }
    header {
        size : u8;
        opts : opt[] size size max 8;
        n    : u8;
        list : opt[n] max 8;
    }
    attribute n;
    attribute first_kind : u8 = first(list).kind;
    attribute last_kind : u8 = last(list).kind;
    attribute second_kind : u8 = list[1].kind;
    attribute opt_count : u32 = len(opts);
}
)");
    const mmt_proto& p = lib.proto("lazy");
    // The sized options hold garbage: validate rejects the packet, but `n` lies after a
    // declared size and a getter finds it without walking the options.
    Ctx c(hex("03 00ffff 03 0101aa 0200 03"));
    CHECK(validated(c, p) == Expect{MMT_MALFORMED, MMT_FAIL_REQUIRES, "kind"});
    CHECK(c.get(p, "n") == "3");
    CHECK(c.get(p, "opt_count") == "<absent>");
    // The third list element is cut: the first two still answer, the last does not.
    CHECK(c.get(p, "first_kind") == "1");
    CHECK(c.get(p, "second_kind") == "2");
    CHECK(c.get(p, "last_kind") == "<absent>");
    Ctx whole(hex("00 02 0101aa 0200"));
    CHECK(whole.validate(p).status == MMT_OK);
    CHECK(whole.get(p, "last_kind") == "2");
    CHECK(whole.get(p, "opt_count") == "0");
}
TEST_CASE("a projection skips inner elements that lack the member, not the rest of the list",
          "[codegen][structures]") {
    auto lib = Compiled::from(R"(
protocol t {
    id 7;
    header { n : u8; }
    body { hs : handshake[] max 8; }
    record handshake { type : u8; length : u8; switch (type) size length { 1 => ch : hello; } }
    record hello { v : u8; exts_len : u8; exts : ext[] size exts_len max 8; }
    record ext { type : u8; length : u8; switch (type) size length { 0 => sn : sn_list; } }
    record sn_list { k : u8; host : bytes[2]; }
    attribute c1 : u32 = count(hs.ch.exts);
    attribute c2 : u32 = count(hs.ch.exts.sn);
    attribute h : string = first(hs.ch.exts.sn.host);
}
)");
    const mmt_proto& p = lib.proto("t");
    // handshake type 1, length 10: hello v=3, exts_len 8: ext(9,0) ext(0,3 [1 'a' 'b']) ...
    Ctx a(std::vector<uint8_t>{1, 1, 9, 3, 7, 9, 0, 0, 3, 1, 'a', 'b'});
    CHECK(a.get(p, "c1") == "2");
    CHECK(a.get(p, "c2") == "1");
    CHECK(a.get(p, "h") == "ab");
}
