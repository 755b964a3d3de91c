// Generated code for expressions and attributes: typed attributes, string functions,
// indexing, projections, and integer arithmetic whose overflow is defined.
#include "codegen_util.h"

using namespace mmtc::test;

TEST_CASE("attributes: shorthand, typed with masking, conditional", "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol attrs {
    id 7;
    header { a : u16; b : u8; }
    let c = a * 256 + b;
    attribute a, b;
    attribute c;
    attribute low : u8 = a;
    attribute nine : u9 = 0xffff;
    attribute wide : u64 = a - 0x10000;
    attribute flag : bool = b == 3;
    attribute only_if : u8 = b if a > 0x100;
}
)");
    const mmt_proto& p = lib.proto("attrs");
    Ctx c(hex("1234 03"));
    CHECK(c.validate(p).status == MMT_OK);
    CHECK(c.get(p, "a") == std::to_string(0x1234));
    CHECK(c.get(p, "c") == std::to_string(0x123403));
    CHECK(c.get(p, "low") == std::to_string(0x34));
    CHECK(c.get(p, "nine") == std::to_string(0x1ff));
    CHECK(c.get(p, "wide") == std::to_string(uint64_t(0x1234) - 0x10000));
    CHECK(c.get(p, "flag") == "1");
    CHECK(c.get(p, "only_if") == "3");
    bool present = false;
    mmt_value v = c.value(p, "a", present);
    CHECK(v.type == MMT_T_UINT);
    CHECK(c.value(p, "flag", present).type == MMT_T_BOOL);
    Ctx small(hex("0010 04"));
    CHECK(small.get(p, "only_if") == "<absent>");
    CHECK(small.get(p, "flag") == "0");
    // Attribute table: names, types and kinds.
    CHECK(p.n_attrs == 8);
    CHECK(std::string(p.attrs[0].name) == "a");
    CHECK(std::string(p.attrs[7].name) == "only_if");
    CHECK(p.attrs[5].type == MMT_T_UINT);
    CHECK(p.attrs[6].type == MMT_T_BOOL);
    for (uint32_t i = 0; i < p.n_attrs; ++i) {
        CHECK(p.attrs[i].kind == MMT_ATTR_REQUEST);
        CHECK(p.attrs[i].get != nullptr);
    }
}

TEST_CASE("string functions", "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol strs {
    id 7;
    header { line : bytes until "\r\n"; rest : bytes; }
    attribute length : u32 = len(line);
    attribute is_get : bool = starts_with(line, "PUT ", "GET ", "POST ");
    attribute is_get_ci : bool = istarts_with(line, "get ");
    attribute ends_http : bool = ends_with(line, "HTTP/1.1", "HTTP/1.0");
    attribute has_q : bool = contains(line, "?", "#");
    attribute is_upper : bool = iequals(rest, "  HELLO ");
    attribute trimmed : string = trim(rest);
    attribute method : string = split(line, " ", 0);
    attribute uri : string = split(line, " ", 1);
    attribute version : string = split(line, " ", 2);
    attribute fourth : string = split(line, " ", 3);
    attribute path : string = before(split(line, " ", 1), "?");
    attribute query : string = after(line, "?");
    attribute number : u64 = to_int(rest);
    attribute b0 : u8 = u8(line, 0);
    attribute w : u16 = u16(line, 0);
    attribute w3 : u32 = u24(line, 1);
    attribute d : u32 = u32(line, 0);
    attribute q : u64 = u64(line, 0);
    attribute wle : u16 = u16le(line, 0);
    attribute dle : u32 = u32le(line, 0);
    attribute qle : u64 = u64le(line, 0);
    attribute oob : u16 = u16(line, len(line) - 1);
    attribute small : u32 = min(len(line), 3);
    attribute big : u32 = max(len(line), 100);
    attribute c1 : u8 = line[1];
    attribute far : u8 = line[1000];
}
)");
    const mmt_proto& p = lib.proto("strs");
    Ctx c(std::string("GET /a?x=1 HTTP/1.1\r\n  hello "));
    CHECK(c.validate(p).status == MMT_OK);
    CHECK(c.get(p, "length") == "19");
    CHECK(c.get(p, "is_get") == "1");
    CHECK(c.get(p, "is_get_ci") == "1");
    CHECK(c.get(p, "ends_http") == "1");
    CHECK(c.get(p, "has_q") == "1");
    CHECK(c.get(p, "is_upper") == "1");
    CHECK(c.get(p, "trimmed") == "hello");
    CHECK(c.get(p, "method") == "GET");
    CHECK(c.get(p, "uri") == "/a?x=1");
    CHECK(c.get(p, "version") == "HTTP/1.1");
    CHECK(c.get(p, "fourth") == "<absent>");
    CHECK(c.get(p, "path") == "/a");
    CHECK(c.get(p, "query") == "x=1 HTTP/1.1");
    CHECK(c.get(p, "number") == "<absent>");
    CHECK(c.get(p, "b0") == std::to_string('G'));
    CHECK(c.get(p, "w") == std::to_string(('G' << 8) | 'E'));
    CHECK(c.get(p, "w3") == std::to_string(('E' << 16) | ('T' << 8) | ' '));
    CHECK(c.get(p, "d") == std::to_string((uint32_t('G') << 24) | ('E' << 16) | ('T' << 8) | ' '));
    CHECK(c.get(p, "q") == std::to_string(0x474554202f613f78ull));
    CHECK(c.get(p, "wle") == std::to_string(('E' << 8) | 'G'));
    CHECK(c.get(p, "dle") ==
          std::to_string((uint32_t(' ') << 24) | ('T' << 16) | ('E' << 8) | 'G'));
    CHECK(c.get(p, "qle") == std::to_string(0x783f612f20544547ull));
    CHECK(c.get(p, "oob") == "<absent>");
    CHECK(c.get(p, "small") == "3");
    CHECK(c.get(p, "big") == "100");
    CHECK(c.get(p, "c1") == std::to_string('E'));
    CHECK(c.get(p, "far") == "<absent>");

    Ctx other(std::string("post /\r\n 42\t"));
    CHECK(other.get(p, "is_get") == "0");
    CHECK(other.get(p, "is_get_ci") == "0");
    CHECK(other.get(p, "ends_http") == "0");
    CHECK(other.get(p, "has_q") == "0");
    CHECK(other.get(p, "query") == "<absent>");
    CHECK(other.get(p, "path") == "<absent>"); // before(): no separator, no value
    CHECK(other.get(p, "version") == "<absent>");
    CHECK(other.get(p, "number") == "42");
    CHECK(other.get(p, "trimmed") == "42");
    CHECK(other.get(p, "q") == "<absent>"); // 6 bytes: too short for a u64

    Ctx shortLine(std::string("GE\r\n"));
    CHECK(shortLine.get(p, "is_get") == "0");
    CHECK(shortLine.get(p, "ends_http") == "0");
    CHECK(shortLine.get(p, "uri") == "<absent>");
    CHECK(shortLine.get(p, "method") == "GE");
    CHECK(shortLine.get(p, "trimmed") == "");
    CHECK(shortLine.get(p, "number") == "<absent>");

    Ctx huge(std::string("x\r\n99999999999999999999"));
    CHECK(huge.get(p, "number") == "<absent>");
    Ctx limit(std::string("x\r\n9223372036854775807"));
    CHECK(limit.get(p, "number") == "9223372036854775807");
    Ctx over(std::string("x\r\n9223372036854775808"));
    CHECK(over.get(p, "number") == "<absent>");
}

TEST_CASE("indexing and projections through nested lists", "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol proj {
    id 7;
    record label { len : u8; text : bytes[len] if len > 0; }
    record name { labels : label[] until (len == 0) max 8; }
    record entry { n : name; kind : u8; }
    header {
        count   : u8;
        entries : entry[count] max 4;
    }
    attribute first_name : string = join(entries[0].n.labels.text, ".");
    attribute second_name : string = join(entries[1].n.labels.text, "-");
    attribute all_labels : string = join(entries.n.labels.text, "/");
    attribute kinds : u32 = len(entries.kind);
    attribute last_kind : u8 = last(entries.kind);
    attribute first_kind : u8 = first(entries).kind;
    attribute third_text : bytes = entries.n.labels.text[2];
    attribute label_count : u32 = count(entries.n.labels);
    attribute first_label_len : u8 = entries[0].n.labels[0].len;
}
)");
    const mmt_proto& p = lib.proto("proj");
    Ctx c(hex("02 0161 0262 63 00 01 0178 00 02"));
    CHECK(c.validate(p).status == MMT_OK);
    CHECK(c.get(p, "first_name") == "a.bc");
    CHECK(c.get(p, "second_name") == "x");
    CHECK(c.get(p, "all_labels") == "a/bc/x");
    CHECK(c.get(p, "kinds") == "2");
    CHECK(c.get(p, "last_kind") == "2");
    CHECK(c.get(p, "first_kind") == "1");
    CHECK(c.get(p, "third_text") == "x");
    CHECK(c.get(p, "label_count") == "5");
    CHECK(c.get(p, "first_label_len") == "1");

    Ctx none(hex("00"));
    CHECK(none.get(p, "first_name") == "<absent>");
    CHECK(none.get(p, "all_labels") == "");
    CHECK(none.get(p, "kinds") == "0");
    CHECK(none.get(p, "last_kind") == "<absent>");

    // Scratch space: join fails cleanly when the buffer is too small.
    Ctx tiny(hex("02 0161 0262 63 00 01 0178 00 02"));
    tiny.mem.cap = 2;
    CHECK(tiny.get(p, "first_name") == "<absent>");
    tiny.mem.used = 0;
    tiny.mem.cap = 4;
    CHECK(tiny.get(p, "first_name") == "a.bc");
    CHECK(tiny.mem.used == 4);
    Ctx noScratch(hex("02 0161 0262 63 00 01 0178 00 02"));
    noScratch.c.scratch = nullptr;
    CHECK(noScratch.get(p, "first_name") == "<absent>");
}

TEST_CASE("lets of records and computed lists named several times in one attribute",
          "[codegen][expressions]") {
    // Each let is computed at the first use that runs and kept for the others: uses in
    // branches that do not run, uses after a failure, and lists built from kept lists.
    auto lib = Compiled::from(R"(
protocol kept {
    id 7;
    record item { k : u16; tag : u8; }
    header {
        n     : u8;
        items : item[n] max 8;
    }
    let top = first(items);
    let ks = no_grease(items.k);
    let others = sort(without(ks, 5));
    attribute summary : string =
        concat(count(ks), "/", join(ks, "-"), "/", join(others, "-"), "/", count(others));
    attribute branch : string = n > 100 ? join(ks, "+") : concat(join(ks, ","), ";", count(ks));
    attribute late : string = n > 100 ? concat(top.tag) : concat(top.k, ":", top.tag, ":", top.k);
    attribute twice : u32 = top.k + top.tag + count(ks) + top.k;
}
)");
    const mmt_proto& p = lib.proto("kept");
    // items: (9,1) (0x0a0a GREASE,2) (5,3) (3,4)
    Ctx c(hex("04 000901 0a0a02 000503 000304"));
    CHECK(c.validate(p).status == MMT_OK);
    CHECK(c.get(p, "summary") == "3/9-5-3/3-9/2");
    CHECK(c.get(p, "branch") == "9,5,3;3");
    CHECK(c.get(p, "late") == "9:1:9");
    CHECK(c.get(p, "twice") == "22");
    // No items: the record fails at each use, the lists are empty.
    Ctx none(hex("00"));
    CHECK(none.get(p, "summary") == "0///0");
    CHECK(none.get(p, "late") == "<absent>");
    CHECK(none.get(p, "twice") == "<absent>");
}

TEST_CASE("integer arithmetic wraps and never traps", "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol arith {
    id 7;
    header { a : u64; b : u64; s : u8; }
    attribute add : u64 = a + b;
    attribute sub : u64 = a - b;
    attribute mul : u64 = a * b;
    attribute div : u64 = a / b;
    attribute rem : u64 = a % b;
    attribute shl : u64 = a << s;
    attribute shr : u64 = a >> s;
    attribute neg : u64 = -a;
    attribute inv : u64 = ~a;
    attribute bits : u64 = a & b | a ^ b;
    attribute lt : bool = a < b;
    attribute mn : u64 = min(a, b);
    attribute within : bool = s in { 1, 3..5 };
}
)");
    const mmt_proto& p = lib.proto("arith");
    auto run = [&](uint64_t a, uint64_t b, uint8_t s) {
        std::vector<uint8_t> bytes;
        for (int i = 7; i >= 0; --i) bytes.push_back(uint8_t(a >> (8 * i)));
        for (int i = 7; i >= 0; --i) bytes.push_back(uint8_t(b >> (8 * i)));
        bytes.push_back(s);
        return Ctx(bytes);
    };
    {
        Ctx c = run(7, 2, 3);
        c.reset();
        CHECK(c.get(p, "add") == "9");
        CHECK(c.get(p, "sub") == "5");
        CHECK(c.get(p, "mul") == "14");
        CHECK(c.get(p, "div") == "3");
        CHECK(c.get(p, "rem") == "1");
        CHECK(c.get(p, "shl") == "56");
        CHECK(c.get(p, "shr") == "0");
        CHECK(c.get(p, "neg") == std::to_string(uint64_t(-7)));
        CHECK(c.get(p, "inv") == std::to_string(~uint64_t(7)));
        CHECK(c.get(p, "bits") == std::to_string((7 & 2) | (7 ^ 2)));
        CHECK(c.get(p, "lt") == "0");
        CHECK(c.get(p, "mn") == "2");
        CHECK(c.get(p, "within") == "1");
    }
    {
        Ctx c = run(~0ull, 1, 64);
        c.reset();
        CHECK(c.get(p, "add") == "0");
        CHECK(c.get(p, "mul") == std::to_string(~0ull));
        CHECK(c.get(p, "shl") == "0"); // shifts by 64 or more give 0
        CHECK(c.get(p, "shr") == "0");
        CHECK(c.get(p, "within") == "0");
        // Integers are signed 64-bit in expressions: all ones is -1.
        CHECK(c.get(p, "lt") == "1");
        CHECK(c.get(p, "div") == std::to_string(~0ull));
    }
    {
        Ctx c = run(5, 0, 200);
        c.reset();
        CHECK(c.get(p, "div") == "<absent>"); // division by zero: no value
        CHECK(c.get(p, "rem") == "<absent>");
        CHECK(c.get(p, "shl") == "0");
        CHECK(c.get(p, "sub") == "5");
    }
    {
        Ctx c = run(0x8000000000000000ull, ~0ull, 63); // INT64_MIN and -1
        c.reset();
        CHECK(c.get(p, "div") == "<absent>");
        CHECK(c.get(p, "rem") == "<absent>");
        CHECK(c.get(p, "shr") == "1");
        CHECK(c.get(p, "neg") == std::to_string(0x8000000000000000ull));
    }
}

TEST_CASE("an attribute of an absent field is absent, everywhere it is used",
          "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol absent {
    id 7;
    record r { v : u8; }
    header {
        f   : u8;
        opt : r if f == 1;
        n   : u8 if f == 1;
    }
    attribute v : u8 = opt.v;
    attribute n;
    attribute n_plus : u16 = n + 1;
    attribute pick : u8 = f == 1 ? n : 7;
    attribute guarded : bool = f == 1 and n == 2;
    attribute via_attr : u16 = n_plus * 2;
}
)");
    const mmt_proto& p = lib.proto("absent");
    Ctx yes(hex("01 05 02"));
    CHECK(yes.get(p, "v") == "5");
    CHECK(yes.get(p, "n_plus") == "3");
    CHECK(yes.get(p, "pick") == "2");
    CHECK(yes.get(p, "guarded") == "1");
    CHECK(yes.get(p, "via_attr") == "6");
    Ctx no(hex("00"));
    CHECK(no.validate(p).status == MMT_OK);
    CHECK(no.get(p, "v") == "<absent>");
    CHECK(no.get(p, "n") == "<absent>");
    CHECK(no.get(p, "n_plus") == "<absent>");
    CHECK(no.get(p, "pick") == "7");
    CHECK(no.get(p, "guarded") == "0");
    CHECK(no.get(p, "via_attr") == "<absent>");
}

TEST_CASE("remaining, message, offset, find and any", "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol more {
    id 7;
    record opt { kind : u8; len : u8; data : bytes[len]; }
    header {
        a    : u8;
        rest : bytes[remaining - 1];
        last : u8;
    }
    body {
        opts : opt[] max 8;
    }
    attribute rest, last;
    attribute whole : u32 = len(message);
    attribute at_rest : u32 = offset(rest);
    attribute at_opts : u32 = offset(opts);
    attribute first_long : u8 = find(opts, len > 1).kind;
    attribute has_kind3 : bool = any(opts, kind == 3);
    attribute has_kind9 : bool = any(opts, kind == 9);
    attribute nine : u8 = find(opts, kind == 9).len;
}
)");
    const mmt_proto& p = lib.proto("more");
    // `rest` takes all but one of the bytes left where it starts; `last` the final one...
    // of the header, which is the whole data here: the body is empty.
    Ctx c(hex("01 aabb 07"));
    auto r = c.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(r.header_len == 4);
    CHECK(c.get(p, "rest") == "\xaa\xbb");
    CHECK(c.get(p, "last") == "7");
    CHECK(c.get(p, "whole") == "4");
    CHECK(c.get(p, "at_rest") == "1");
    CHECK(c.get(p, "at_opts") == "4");
    CHECK(c.get(p, "has_kind3") == "0");
    CHECK(c.get(p, "first_long") == "<absent>");
}

TEST_CASE("find and any over lists of records", "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol search {
    id 7;
    record opt { kind : u8; len : u8; data : bytes[len]; }
    header { n : u8; opts : opt[n] max 8; }
    attribute first_long : u8 = find(opts, len > 1).kind;
    attribute long_data : bytes = find(opts, len > 1).data;
    attribute has_kind3 : bool = any(opts, kind == 3);
    attribute has_kind9 : bool = any(opts, kind == 9);
    attribute nine : u8 = find(opts, kind == 9).len;
    attribute at_second : u32 = offset(opts[1].data);
}
)");
    const mmt_proto& p = lib.proto("search");
    Ctx c(hex("03 0101aa 0302bbcc 0400"));
    CHECK(c.validate(p).status == MMT_OK);
    CHECK(c.get(p, "first_long") == "3");
    CHECK(c.get(p, "long_data") == "\xbb\xcc");
    CHECK(c.get(p, "has_kind3") == "1");
    CHECK(c.get(p, "has_kind9") == "0");
    CHECK(c.get(p, "nine") == "<absent>");
    CHECK(c.get(p, "at_second") == "6");
    // A broken third element: the search stops there, what came before still counts.
    Ctx cut(hex("03 0101aa 0302bbcc 04"));
    CHECK(cut.get(p, "has_kind3") == "1");
    CHECK(cut.get(p, "has_kind9") == "0");
}

/// A string literal with its NUL bytes, without the terminating one.
template <size_t N> std::string lit(const char (&s)[N]) {
    return std::string(s, N - 1);
}

TEST_CASE("domain_name and chunked_length", "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol names {
    id 7;
    header { off : u8; body : bytes; }
    attribute name : string = domain_name(message, off);
    attribute chunked : u64 = chunked_length(body);
}
)");
    const mmt_proto& p = lib.proto("names");
    // off=1: "www" then a pointer to offset 5 ("example" "com" 0).
    Ctx c(hex("01 03777777 c005"));
    CHECK(c.get(p, "name") ==
          "<absent>"); // offset 5 is the pointer's second byte: 0x05, a label running past the data
    Ctx c2(hex("01 03777777 c007 07 6578616d706c65 03636f6d 00"));
    CHECK(c2.get(p, "name") == "www.example.com");
    Ctx loop(hex("01 c001"));
    CHECK(loop.get(p, "name") == "<absent>"); // a pointer to itself: at most 16 hops
    Ctx root(hex("01 00"));
    CHECK(root.get(p, "name") == "");
    Ctx body(lit("\x00"
                 "4\r\nWiki\r\n5;x=1\r\npedia\r\n0\r\nT: v\r\n\r\nNEXT"));
    CHECK(body.get(p, "chunked") == "34");
    Ctx cutBody(lit("\x00"
                    "4\r\nWiki\r\n5\r\nped"));
    CHECK(cutBody.get(p, "chunked") == "18446744073709551615"); // -1: its end is not there yet
    Ctx bad(lit("\x00"
                "zz\r\n"));
    CHECK(bad.get(p, "chunked") == "<absent>");
}

TEST_CASE("run_of: a run of one byte value in one field", "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol padded {
    id 7;
    header { lead : u8; pad : bytes[run_of(0)]; next : u8; items : item[] max 16; }
    record item {
        kind : u8;
        switch (kind) {
            0       => zeros : bytes[run_of(0)];
            default => value : u8;
        }
    }
    attribute lead, next;
    attribute pad_len : u32 = len(pad);
    attribute item_count : u32 = count(items);
}
)");
    const mmt_proto& p = lib.proto("padded");
    // Ten zeros, then 7; then an item 5/9, a PADDING item of 1 + 11 zeros (more than a word
    // of eight), and an item 3/4.
    Ctx c(hex("01 00000000000000000000 07 0509 00 0000000000000000000000 0304"));
    CHECK(c.get(p, "lead") == "1");
    CHECK(c.get(p, "pad_len") == "10");
    CHECK(c.get(p, "next") == "7");
    CHECK(c.get(p, "item_count") == "3");
    Ctx none(hex("01 07 0509"));
    CHECK(none.get(p, "pad_len") == "0");
    CHECK(none.get(p, "next") == "7");
    CHECK(none.get(p, "item_count") == "1");
    // A run to the end of the data: the item takes it all.
    Ctx tail(hex("01 07 00 000000"));
    CHECK(tail.get(p, "item_count") == "1");
}

TEST_CASE("over ... quoted marks the classification", "[codegen][stages]") {
    auto lib = Compiled::from(R"(
protocol outer { id 10; header { kind : u8; } }
protocol inner_plain { id 11; over outer when kind == 1; header { x : u8; } }
protocol inner_quoted { id 12; over outer when kind == 2 quoted; header { x : u8; } }
)");
    const mmt_proto& p = lib.proto("outer");
    for (uint8_t kind : {1, 2}) {
        Ctx c(std::vector<uint8_t>{kind, 0});
        mmt_parse_result r = c.validate(p);
        mmt_class_result cr{};
        cr.flags = 0xff;
        REQUIRE(p.classify(&c.c, &r, &cr) == 1);
        CHECK(cr.next_id == (kind == 1 ? 11u : 12u));
        CHECK(cr.flags == (kind == 1 ? 0u : uint32_t(MMT_CLASS_QUOTED)));
    }
}

TEST_CASE("join keeps empty pieces", "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol pieces {
    id 7;
    record piece { len : u8; text : bytes[len]; }
    header { n : u8; items : piece[n] max 4; }
    attribute joined : string = join(items.text, ",");
}
)");
    const mmt_proto& p = lib.proto("pieces");
    Ctx c(hex("03 00 0161 00"));
    CHECK(c.get(p, "joined") == ",a,");
    Ctx one(hex("01 00"));
    CHECK(one.get(p, "joined") == "");
}

TEST_CASE("ipv4, ipv6 and mac read addresses from bytes", "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol options {
    id 7;
    header { four : bytes[4]; rest : bytes; }
    attribute addr : ipv4 = ipv4(four);
    attribute hw : mac = mac(rest, 1);
    attribute six : ipv6 = ipv6(rest);
    attribute same : bool = ipv4(four) == ipv4(rest, 3);
}
)");
    const mmt_proto& p = lib.proto("options");
    Ctx c(hex("c0a80105 01 001122334455"));
    CHECK(c.get(p, "addr") == "192.168.1.5");
    CHECK(c.get(p, "hw") == "0.17.34.51.68.85"); // this harness prints any address dotted
    CHECK(c.get(p, "six") == "<absent>");        // 7 bytes: too short for IPv6
    CHECK(c.get(p, "same") == "0");
    Ctx v6(hex("00000000 20010db8000000000000000000000001"));
    CHECK(v6.get(p, "six") == "32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1");
    Ctx cut(hex("c0a8"));
    CHECK(c.get(p, "addr") == "192.168.1.5");
    CHECK(cut.get(p, "addr") == "<absent>");
}

TEST_CASE("netbios_name decodes first-level encoded names", "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol nb {
    id 7;
    header { name : bytes; }
    attribute decoded : string = netbios_name(name);
}
)");
    const mmt_proto& p = lib.proto("nb");
    // "WORKGROUP" padded with spaces, suffix 0x1d.
    Ctx c(lit("FHEPFCELEHFCEPFFFACACACACACACABN"));
    CHECK(c.get(p, "decoded") == "WORKGROUP<1d>");
    // Bytes that do not print are written as tshark writes them.
    Ctx star(lit("CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    CHECK(star.get(p, "decoded") ==
          "*<00><00><00><00><00><00><00><00><00><00><00><00><00><00><00>");
    Ctx shortName(lit("FHEPFCEL"));
    CHECK(shortName.get(p, "decoded") == "<absent>");
    Ctx badLetter(lit("ZHEPFCELEHFCEPFFFACACACACACACABN"));
    CHECK(badLetter.get(p, "decoded") == "<absent>");
}

TEST_CASE("attributes: hex display, a field exported under another type",
          "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol shown {
    id 7;
    header { id : u32; flags : u16; code : u12; _ : u4; name_len : u8; name : bytes[name_len]; }
    attribute id : u32 hex = id;
    attribute flags : u16 hex = flags;
    attribute code : u12 hex = code;
    attribute wide : u64 hex = id * 16;
    attribute name : string = name;
    attribute name_len;
}
)");
    const mmt_proto& p = lib.proto("shown");
    // `hex` asks for as many digits as the type has whole bytes; the value stays an integer.
    CHECK(p.attrs[0].hex_digits == 8);
    CHECK(p.attrs[1].hex_digits == 4);
    CHECK(p.attrs[2].hex_digits == 4);
    CHECK(p.attrs[3].hex_digits == 16);
    CHECK(p.attrs[4].hex_digits == 0);
    CHECK(p.attrs[5].hex_digits == 0);
    Ctx c(hex("c0912052 0001 abc0 02 6869"));
    CHECK(c.validate(p).status == MMT_OK);
    CHECK(c.get(p, "id") == std::to_string(0xc0912052u));
    CHECK(c.get(p, "code") == std::to_string(0xabc));
    // The field keeps its name in expressions; the attribute converts it.
    bool present = false;
    mmt_value v = c.value(p, "name", present);
    CHECK(present);
    CHECK(v.type == MMT_T_STRING);
    CHECK(c.get(p, "name") == "hi");
    CHECK(p.attrs[4].type == MMT_T_STRING);
}

TEST_CASE("one event attribute defined in several places", "[codegen][expressions]") {
    auto lib = Compiled::from(R"(
protocol several {
    id 7;
    record filter { len : u8; text : bytes[len]; qos : u8; }
    header { kind : u8; }
    body {
        topic_len : u8 if kind == 3;
        topic     : bytes[topic_len] if kind == 3;
        filters   : filter[] max 8 if kind == 8;
    }
    event attribute topic : string = topic if kind == 3;
    event attribute kind_seen : u8 = kind;
    event attribute topic : string = text on filters;
}
)");
    const mmt_proto& p = lib.proto("several");
    // One attribute in the table, one event bit.
    REQUIRE(p.n_attrs == 2);
    CHECK(std::string(p.attrs[0].name) == "topic");
    CHECK(p.attrs[0].event_index == 0);
    CHECK(p.attrs[1].event_index == 1);
    Ctx pub(hex("03 02 6869"));
    CHECK(pub.analyse(p).status == MMT_OK);
    CHECK(pub.raised(p, "topic") == std::vector<std::string>{"hi"});
    Ctx sub(hex("08 01 61 00 02 6263 01"));
    CHECK(sub.analyse(p).status == MMT_OK);
    CHECK(sub.raised(p, "topic") == std::vector<std::string>{"a", "bc"});
    CHECK(sub.raised(p, "kind_seen") == std::vector<std::string>{"8"});
    // The bit of the attribute turns every definition on and off.
    sub.c.events_wanted = 2;
    sub.analyse(p);
    CHECK(sub.raised(p, "topic").empty());
    CHECK(sub.events.size() == 1);
}
