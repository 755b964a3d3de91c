// Generated stage functions other than validate and getters: analyse and its events,
// keys and sides, classify, pdu_length, state, stream, fragment and parent attributes.
#include "codegen_util.h"

using namespace mmtc::test;

namespace {

std::string keyText(const uint8_t* p, uint16_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (uint16_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

} // namespace

TEST_CASE("event attributes: analyse, emit and events_wanted", "[codegen][stages]") {
    auto lib = Compiled::from(R"(
protocol ev {
    id 7;
    record hdr { name : bytes until ":"; value : bytes until "\r\n"; }
    header { start : bytes until "\r\n"; }
    body { headers : hdr[] until "\r\n" max 8; }
    attribute start;
    event attribute header_name : string = name on headers;
    event attribute host : string = trim(value) on headers if iequals(name, "Host");
    event attribute length : u32 = to_int(value) on headers if iequals(name, "Length");
    event attribute whole : string = start;
    event attribute count : u32 = len(headers) if len(headers) > 1;
}
)");
    const mmt_proto& p = lib.proto("ev");
    REQUIRE(p.analyse);
    CHECK(p.attrs[1].kind == MMT_ATTR_EVENT);
    CHECK(p.attrs[1].get == nullptr);
    CHECK(p.attrs[1].event_index == 0);
    CHECK(p.attrs[5].event_index == 4);
    Ctx c(std::string("GET /\r\nHost: a.b \r\nLength:12\r\nLength: x\r\n\r\n"));
    auto r = c.analyse(p);
    CHECK(r.status == MMT_OK);
    CHECK(c.raised(p, "header_name") == std::vector<std::string>{"Host", "Length", "Length"});
    CHECK(c.raised(p, "host") == std::vector<std::string>{"a.b"});
    // An occurrence whose value cannot be computed is skipped, not the others.
    CHECK(c.raised(p, "length") == std::vector<std::string>{"12"});
    CHECK(c.raised(p, "whole") == std::vector<std::string>{"GET /"});
    CHECK(c.raised(p, "count") == std::vector<std::string>{"3"});

    // Only wanted events are raised.
    c.c.events_wanted = (1u << 1) | (1u << 3);
    r = c.analyse(p);
    CHECK(r.status == MMT_OK);
    CHECK(c.raised(p, "header_name").empty());
    CHECK(c.raised(p, "host") == std::vector<std::string>{"a.b"});
    CHECK(c.raised(p, "whole") == std::vector<std::string>{"GET /"});
    CHECK(c.events.size() == 2);
    c.c.events_wanted = 0;
    c.analyse(p);
    CHECK(c.events.empty());

    // A body cut short: what was met before the cut is raised, analyse reports the cut.
    Ctx cut(std::string("GET /\r\nHost: x\r\nUser"));
    CHECK(analysed(cut, p) == Expect{MMT_TRUNCATED, MMT_FAIL_TERMINATOR, "name", 16});
    CHECK(cut.raised(p, "host") == std::vector<std::string>{"x"});
}

TEST_CASE("event attributes over lists of scalars, without value", "[codegen][stages]") {
    auto lib = Compiled::from(R"(
protocol ev2 {
    id 7;
    header { n : u8; ports : u16[n]; }
    event attribute port on ports;
    event attribute big_port : u16 = 0 + ports[0] if n > 1;
}
)");
    const mmt_proto& p = lib.proto("ev2");
    Ctx c(hex("03 0050 01bb 0035"));
    CHECK(c.analyse(p).status == MMT_OK);
    CHECK(c.raised(p, "port") == std::vector<std::string>{"80", "443", "53"});
    CHECK(c.raised(p, "big_port") == std::vector<std::string>{"80"});
}

TEST_CASE("session keys: shared and directional parts, protocol id, overflow",
          "[codegen][stages]") {
    auto lib = Compiled::from(R"(
protocol k2 {
    id 0x1234;
    header { a : ipv4; b : ipv4; tag : u16; flag : u1; _ : u7; big : ipv6; }
    key (a, tag) <-> (b, tag);
    attribute a;
}
protocol k1 {
    id 5;
    header { vni : u24; on : u1; _ : u7; }
    key (vni, on);
}
protocol kbig {
    id 6;
    header { x : ipv6; }
    key (x, x, x, x, x, x);
}
)");
    const mmt_proto& p = lib.proto("k2");
    REQUIRE(p.key);
    CHECK(p.flags & MMT_PROTO_HAS_KEY);
    CHECK_FALSE(p.flags & MMT_PROTO_SESSION);
    Ctx c(hex("0a000001 0a000002 0102 80 00000000000000000000000000000000"));
    mmt_key k{};
    CHECK(p.key(&c.c, &k) == 1);
    CHECK(keyText(k.shared, k.shared_len) == "1234");
    CHECK(keyText(k.a, k.a_len) == "0a0000010102");
    CHECK(keyText(k.b, k.b_len) == "0a0000020102");
    CHECK(k.overflow == 0);
    // Keys of several layers are appended side by side.
    const mmt_proto& q = lib.proto("k1");
    Ctx c2(hex("abcdef 80"));
    CHECK(q.key(&c2.c, &k) == 1);
    CHECK(keyText(k.shared, k.shared_len) == "12340005abcdef01");
    CHECK(k.a_len == 6);
    // A key that cannot be read leaves the key untouched.
    mmt_key before = k;
    Ctx cut(hex("0a000001 0a00"));
    CHECK(p.key(&cut.c, &k) == 0);
    CHECK(std::memcmp(&before, &k, sizeof k) == 0);
    // Parts that do not fit set the overflow flag and are dropped.
    const mmt_proto& big = lib.proto("kbig");
    Ctx c3(std::vector<uint8_t>(16, 0x11));
    mmt_key kb{};
    CHECK(big.key(&c3.c, &kb) == 1);
    CHECK(kb.overflow == 1);
    CHECK(kb.shared_len == 2 + 5 * 16);

    // Sides: the two single values of a bidirectional key.
    auto lib2 = Compiled::from(R"(
protocol s {
    id 9;
    header { src : u16; dst : u16; }
    session key (src) <-> (dst) timeout 30s;
}
)");
    const mmt_proto& s = lib2.proto("s");
    CHECK(s.flags & MMT_PROTO_SESSION);
    CHECK(s.session_timeout_ms == 30000);
    REQUIRE(s.sides);
    Ctx c4(hex("0050 1f90"));
    mmt_value va{}, vb{};
    CHECK(s.sides(&c4.c, &va, &vb) == 1);
    CHECK(va.type == MMT_T_UINT);
    CHECK(va.u == 80);
    CHECK(vb.u == 8080);
    Ctx c5(hex("0050 1f"));
    CHECK(s.sides(&c5.c, &va, &vb) == 0);
    CHECK(p.sides == nullptr); // two values a side
}

TEST_CASE("classify: by value, by port, over ... when, weights and ties", "[codegen][stages]") {
    auto lib = Compiled::from(R"(
protocol base {
    id 10;
    header { kind : u8; sport : u16; dport : u16; }
    ports (sport, dport);
    classify by value (kind) { 1 => one; 2..4 => two; }
    classify weight 5 by port { 80, 8000..8080 => web; 53 => dns_like; }
}
protocol one { id 11; header { x : u8; } }
protocol two { id 12; header { x : u8; } }
protocol web { id 13; header { x : u8; } }
protocol dns_like { id 14; header { x : u8; } }
protocol text {
    id 15;
    over base when kind == 9 and starts_with(payload, "GET ", "HEAD ") weight 200;
}
protocol magic {
    id 16;
    over base when payload[0] == 0x16 and payload[1] == 3 weight 150;
}
protocol tie_b { id 18; over base when kind == 7; }
protocol tie_a { id 17; over base when kind == 7; }
protocol by_port_over { id 19; over base port 5353; }
protocol divide { id 20; over base when 10 / (kind - 8) == 5 weight 300; }
)");
    const mmt_proto& p = lib.proto("base");
    REQUIRE(p.classify);
    auto classify = [&](const std::string& bytes) -> std::pair<uint32_t, uint32_t> {
        Ctx c(hex(bytes));
        mmt_parse_result r = c.validate(p);
        REQUIRE(r.status == MMT_OK);
        mmt_class_result out{};
        if (!p.classify(&c.c, &r, &out)) return {0, 0};
        return {out.next_id, out.weight};
    };
    using R = std::pair<uint32_t, uint32_t>;
    CHECK(classify("01 0000 0000") == R{11, 100});
    CHECK(classify("03 0000 0000") == R{12, 100});
    CHECK(classify("05 0050 1234") == R{13, 5});
    CHECK(classify("05 1234 1f90") == R{13, 5});
    CHECK(classify("05 1234 0035") == R{14, 5});
    CHECK(classify("05 14e9 1234") == R{19, 10});
    // Value rules outweigh port rules.
    CHECK(classify("01 0035 0035") == R{11, 100});
    // Payload heuristics.
    CHECK(classify("09 0050 0000 474554202f") == R{15, 200});
    CHECK(classify("09 0050 0000 4845414420") == R{15, 200});
    CHECK(classify("09 0050 0000 504f5354") == R{13, 5});
    CHECK(classify("00 0000 0000 1603") == R{16, 150});
    // payload[1] does not exist: that rule does not match; nothing else does.
    CHECK(classify("00 0000 0000 16") == R{0, 0});
    // Equal weights: the lower protocol id wins, whatever the declaration order.
    CHECK(classify("07 0000 0000") == R{17, 100});
    // Division by zero in a rule: the rule does not match, later rules still run.
    CHECK(classify("08 0050 0000") == R{13, 5});
    CHECK(classify("0a 0000 0000") == R{20, 300});
    CHECK(classify("06 0000 0000") == R{0, 0});
}

TEST_CASE("classify using a table shared by protocols and added to in several places",
          "[codegen][stages]") {
    auto lib = Compiled::from(R"(
table kinds {
    1 => one;
    2..3 => two;
}
protocol outer {
    id 10;
    header { kind : u8; }
    classify by value (kind) using kinds;
}
protocol tunnel {
    id 11;
    header { _ : u8; kind : u8; }
    classify weight 40 by value (kind) using kinds;
}
protocol one { id 12; header { x : u8; } }
protocol two { id 13; header { x : u8; } }
protocol three { id 14; header { x : u8; } }
table kinds { 9 => three; }
)");
    auto classify = [&](const char* proto, const std::string& bytes) {
        const mmt_proto& p = lib.proto(proto);
        REQUIRE(p.classify);
        Ctx c(hex(bytes));
        mmt_parse_result r = c.validate(p);
        REQUIRE(r.status == MMT_OK);
        mmt_class_result out{};
        if (!p.classify(&c.c, &r, &out)) return std::pair<uint32_t, uint32_t>{0, 0};
        return std::pair<uint32_t, uint32_t>{out.next_id, out.weight};
    };
    using R = std::pair<uint32_t, uint32_t>;
    CHECK(classify("outer", "01") == R{12, 100});
    CHECK(classify("outer", "03") == R{13, 100});
    CHECK(classify("outer", "09") == R{14, 100}); // from the second declaration
    CHECK(classify("outer", "04") == R{0, 0});
    CHECK(classify("tunnel", "ff 02") == R{13, 40});
    CHECK(classify("tunnel", "ff 09") == R{14, 40});
}

TEST_CASE("pdu_length and pdu until", "[codegen][stages]") {
    auto lib = Compiled::from(R"(
protocol rec {
    id 7;
    header { type : u8 requires type >= 20; len : u16; }
    pdu_length = 3 + len;
    attribute type;
}
protocol zero {
    id 8;
    header { len : u8; }
    pdu_length = len - 2;
}
protocol lines {
    id 9;
    pdu until "\r\n\r\n";
    max_pdu 8KiB;
    header { line : bytes until "\r\n"; }
}
)");
    const mmt_proto& p = lib.proto("rec");
    REQUIRE(p.pdu_length);
    CHECK(p.flags & MMT_PROTO_PDU_LENGTH);
    Ctx full(hex("17 0005 0102030405"));
    CHECK(p.pdu_length(&full.c) == 8);
    Ctx head(hex("17 00"));
    CHECK(p.pdu_length(&head.c) == 0); // need more bytes
    Ctx bad(hex("05 0005"));
    CHECK(p.pdu_length(&bad.c) == -1); // a constraint fails: malformed
    const mmt_proto& z = lib.proto("zero");
    Ctx zz(hex("02"));
    CHECK(z.pdu_length(&zz.c) == -1); // a PDU of 0 bytes is malformed
    Ctx neg(hex("01"));
    CHECK(z.pdu_length(&neg.c) == -1);
    Ctx empty(std::vector<uint8_t>{});
    CHECK(z.pdu_length(&empty.c) == 0);

    const mmt_proto& l = lib.proto("lines");
    CHECK(l.flags & MMT_PROTO_PDU_UNTIL);
    CHECK_FALSE(l.flags & MMT_PROTO_PDU_LENGTH);
    CHECK(l.pdu_length == nullptr);
    REQUIRE(l.pdu_terminator);
    CHECK(std::string(l.pdu_terminator, l.pdu_terminator_len) == "\r\n\r\n");
    CHECK(l.pdu_terminator_len == 4);
    CHECK(l.max_pdu == 8192);             // the spec's limit
    CHECK(lib.proto("rec").max_pdu == 0); // none: the run's default
}

TEST_CASE("pdu until with pdu_body: head plus a body computed on it, reading state",
          "[codegen][stages]") {
    auto lib = Compiled::from(R"(
protocol msg {
    id 7;
    pdu until "\n\n";
    pdu_body = skip_bodies > 0 ? 0 : starts_with(line, "C") ? chunks : declared;
    header { line : bytes until "\n"; }
    let declared = to_int(after(line, " "));
    let chunks = payload_len_or_wait;
    let payload_len_or_wait = ends_with(payload, ".") ? len(payload) : -1;
    state { skip_bodies : u8; }
    update skip_bodies = 1 if starts_with(line, "S");
}
)");
    const mmt_proto& p = lib.proto("msg");
    CHECK(p.flags & MMT_PROTO_PDU_UNTIL);
    CHECK(p.flags & MMT_PROTO_PDU_LENGTH);
    REQUIRE(p.pdu_length);
    REQUIRE(p.state_size == 8);
    std::vector<uint8_t> state(p.state_size);
    p.init_state(state.data());
    auto framed = [&](const std::string& text, uint8_t* st) {
        Ctx c(std::vector<uint8_t>(text.begin(), text.end()));
        c.c.state = st;
        return p.pdu_length(&c.c);
    };
    CHECK(framed("L 3\n\nabcdef", state.data()) == 5 + 3); // head, then 3 bytes of body
    CHECK(framed("L 3\n", state.data()) == 0);             // no terminator yet: wait
    CHECK(framed("L x\n\nabc", state.data()) == 5);        // no computable body: none
    CHECK(framed("C\n\nab", state.data()) == 0);           // the body's end is not there yet
    CHECK(framed("C\n\nab.", state.data()) == 3 + 3);
    // State read in pdu_body: once a message starting with S went by, bodies are empty.
    Ctx s(hex("53 0a 0a")); // "S\n\n"
    s.c.state = state.data();
    p.update(&s.c);
    CHECK(framed("L 3\n\nabcdef", state.data()) == 5);
    // Without a session's state, a body that reads state counts as empty.
    CHECK(framed("L 3\n\nabcdef", nullptr) == 5);
}

TEST_CASE("state: init_state and update with conditions and direction", "[codegen][stages]") {
    auto lib = Compiled::from(R"(
protocol st {
    id 7;
    header { kind : u8; addr : ipv4; v6 : ipv6; }
    state {
        packets : u32 = 0;
        answers : u16 = 5;
        seen    : bool = true;
        last    : ipv4;
        last6   : ipv6;
        up      : u64 = 0;
        small   : u8 = 0;
    }
    update packets = packets + 1;
    update answers = answers + 1 if kind == 2;
    update seen = kind != 3;
    update last = addr;
    update last6 = v6;
    update up = up + 1 if direction == 0;
    update small = small + 200;
    attribute seen_packets : u32 = packets;
    attribute last_seen : ipv4 = last;
}
)");
    const mmt_proto& p = lib.proto("st");
    REQUIRE(p.init_state);
    REQUIRE(p.update);
    const uint32_t size = p.state_size;
    CHECK(size == 8 + 8 + 8 + 8 + 16 + 8 + 8);
    std::vector<uint8_t> state(size, 0xee);
    p.init_state(state.data());
    uint64_t words[3];
    std::memcpy(words, state.data(), sizeof words);
    CHECK(words[0] == 0);
    CHECK(words[1] == 5);
    CHECK(words[2] == 1);
    CHECK(state[24] == 0); // addresses start zeroed
    CHECK(state[40] == 0);
    Ctx c(hex("02 0a000001 20010db8000000000000000000000001"));
    c.c.state = state.data();
    p.update(&c.c);
    p.update(&c.c);
    c.c.direction = 1;
    p.update(&c.c);
    std::memcpy(words, state.data(), sizeof words);
    CHECK(words[0] == 3);
    CHECK(words[1] == 8);
    CHECK(words[2] == 1);
    CHECK(c.get(p, "seen_packets") == "3");
    CHECK(c.get(p, "last_seen") == "10.0.0.1");
    uint64_t up = 0, small = 0;
    std::memcpy(&up, state.data() + 48, 8);
    std::memcpy(&small, state.data() + 56, 8);
    CHECK(up == 2);
    CHECK(small == (600 & 0xff)); // stored masked to its declared width
    CHECK(state[32] == 0x20);     // last6 copied
    CHECK(state[47] == 1);
    Ctx three(hex("03 0a000002 20010db8000000000000000000000002"));
    three.c.state = state.data();
    p.update(&three.c);
    std::memcpy(words, state.data(), sizeof words);
    CHECK(words[2] == 0);
    // Without state the update does nothing (and does not crash).
    Ctx none(hex("02 0a000001"));
    p.update(&none.c);
    CHECK(none.get(p, "seen_packets") == "<absent>");

    // An address variable initialises its own 8 bytes, not its neighbour's.
    auto lib2 = Compiled::from(R"(
protocol st2 {
    id 8;
    header { a : ipv4; }
    state { m : mac; v4 : ipv4; }
    update v4 = a;
}
)");
    const mmt_proto& q = lib2.proto("st2");
    CHECK(q.state_size == 16);
    std::vector<uint8_t> s2(24, 0xee);
    q.init_state(s2.data());
    CHECK(std::vector<uint8_t>(s2.begin(), s2.begin() + 16) == std::vector<uint8_t>(16, 0));
    CHECK(std::vector<uint8_t>(s2.begin() + 16, s2.end()) == std::vector<uint8_t>(8, 0xee));
}

TEST_CASE("stream and fragment functions", "[codegen][stages]") {
    auto lib = Compiled::from(R"(
protocol seg {
    id 7;
    header { seq : u32; flags : u8 { _a, _b, _c, _d, _e, rst, syn, fin }; }
    stream { seq = seq; syn = syn; fin = fin; rst = rst; }
}
protocol frag {
    id 8;
    header { ident : u16; _ : u2; more : u1; off : u13; proto : u8; }
    fragment { id = ident << 8 | proto; offset = off * 8; more = more == 1; }
}
)");
    const mmt_proto& s = lib.proto("seg");
    REQUIRE(s.stream);
    CHECK(s.flags & MMT_PROTO_STREAM);
    Ctx c(hex("01020304 03"));
    mmt_stream_info si{};
    CHECK(s.stream(&c.c, &si) == 1);
    CHECK(si.seq == 0x01020304);
    CHECK(si.flags == (MMT_STREAM_SYN | MMT_STREAM_FIN));
    Ctx r(hex("ffffffff 04"));
    CHECK(s.stream(&r.c, &si) == 1);
    CHECK(si.seq == 0xffffffff);
    CHECK(si.flags == MMT_STREAM_RST);
    Ctx cut(hex("0102"));
    CHECK(s.stream(&cut.c, &si) == 0);

    const mmt_proto& f = lib.proto("frag");
    REQUIRE(f.fragment);
    CHECK(f.flags & MMT_PROTO_FRAGMENTS);
    mmt_frag_info fi{};
    Ctx first(hex("abcd 2000 11"));
    CHECK(f.fragment(&first.c, &fi) == 1);
    CHECK(fi.id == 0xabcd11);
    CHECK(fi.offset == 0);
    CHECK(fi.more == 1);
    Ctx lastOne(hex("abcd 0010 11"));
    CHECK(f.fragment(&lastOne.c, &fi) == 1);
    CHECK(fi.offset == 128);
    CHECK(fi.more == 0);
    Ctx whole(hex("abcd 0000 11"));
    CHECK(f.fragment(&whole.c, &fi) == 0);
    Ctx shortOne(hex("abcd 00"));
    CHECK(f.fragment(&shortOne.c, &fi) == 0);
}

TEST_CASE("parent attributes through ctx->parent", "[codegen][stages]") {
    auto lib = Compiled::from(R"(
protocol outer_a {
    id 30;
    header { next : u8; tag : u16; }
    attribute next, tag;
    attribute label : string = "A";
}
protocol outer_b {
    id 31;
    header { tag : u8; next : u8; }
    attribute next, tag;
    attribute label : string = "B";
}
protocol inner {
    id 32;
    over outer_a, outer_b when next == 1;
    header { x : u8; }
    attribute outer_tag : u16 = parent.tag;
    attribute outer_label : string = parent.label;
    attribute both : u32 = parent.tag * 1000 + x;
}
)");
    const mmt_proto& in = lib.proto("inner");
    Ctx pa(hex("01 0102"));
    Ctx pb(hex("09 01"));
    Ctx child(hex("07"));
    child.c.parent = &pa.c;
    child.c.parent_id = 30;
    CHECK(child.get(in, "outer_tag") == "258");
    CHECK(child.get(in, "outer_label") == "A");
    CHECK(child.get(in, "both") == "258007");
    child.c.parent = &pb.c;
    child.c.parent_id = 31;
    CHECK(child.get(in, "outer_tag") == "9");
    CHECK(child.get(in, "outer_label") == "B");
    child.c.parent_id = 99; // a parent the spec does not know
    CHECK(child.get(in, "outer_tag") == "<absent>");
    child.c.parent = nullptr;
    child.c.parent_id = 30;
    CHECK(child.get(in, "outer_tag") == "<absent>");
    // The classify rule of each parent leads here.
    const mmt_proto& a = lib.proto("outer_a");
    mmt_parse_result r = pa.validate(a);
    mmt_class_result cr{};
    CHECK(a.classify(&pa.c, &r, &cr) == 1);
    CHECK(cr.next_id == 32);
}

TEST_CASE("events on a chain of fields are raised in wire order while the walk meets them",
          "[codegen][stages]") {
    auto lib = Compiled::from(R"(
protocol chain {
    id 7;
    record name { len : u8; text : bytes[len]; }
    record names { n : u8; items : name[n] max 4; }
    record ext { kind : u8; size : u8; switch (kind) size size { 1 => list : names; } }
    record msg { count : u8; exts : ext[count] max 4; }
    header { m : msg; tag : u8; }
    attribute tag;
    event attribute item : string = text on m.exts.list.items;
    event attribute item_len : u8 = len on m.exts.list.items if len > 1;
    event attribute kinds : u8 = kind on m.exts;
    event attribute lists on m.exts.list.items.len;
    event attribute whole : u8 = n on m.exts.list;
}
)");
    const mmt_proto& p = lib.proto("chain");
    // Three extensions: a list of two names, a kind 2 (no list), a list of one name.
    Ctx c(hex("03 01 06 02 0161 026263 02 02 0000 01 05 01 03 646566 09"));
    auto r = c.validate(p);
    CHECK(r.status == MMT_OK);
    CHECK(c.get(p, "tag") == "9");
    r = c.analyse(p);
    CHECK(r.status == MMT_OK);
    CHECK(c.raised(p, "item") == std::vector<std::string>{"a", "bc", "def"});
    CHECK(c.raised(p, "item_len") == std::vector<std::string>{"2", "3"});
    CHECK(c.raised(p, "kinds") == std::vector<std::string>{"1", "2", "1"});
    CHECK(c.raised(p, "lists") == std::vector<std::string>{"1", "2", "3"});
    CHECK(c.raised(p, "whole") == std::vector<std::string>{"2", "1"});
    // Wire order: each element's events before the next element's.
    std::vector<std::string> order;
    for (const auto& [attr, text] : c.events)
        if (attr == uint32_t(Compiled::attrIndex(p, "item")) ||
            attr == uint32_t(Compiled::attrIndex(p, "kinds")))
            order.push_back(text);
    CHECK(order == std::vector<std::string>{"a", "bc", "1", "2", "def", "1"});
    // A malformed element: what came before it has been raised, the failure is reported.
    Ctx bad(hex("02 01 06 02 0161 0362 63"));
    CHECK(analysed(bad, p) == Expect{MMT_MALFORMED, MMT_FAIL_LENGTH, "text"});
    CHECK(bad.raised(p, "item") == std::vector<std::string>{"a"});
}

TEST_CASE("classify: a rule reading the body does not stop rules reading the header",
          "[codegen][stages]") {
    auto lib = Compiled::from(R"(
protocol carrier {
    id 10;
    header { kind : u8; n : u8; }
    body { items : u16[n]; last : u8; }
    classify weight 200 when last == 7 => by_body;
    classify by value (kind) { 1 => by_header; }
}
protocol by_body { id 11; header { x : u8; } }
protocol by_header { id 12; header { x : u8; } }
)");
    const mmt_proto& p = lib.proto("carrier");
    auto classify = [&](const std::string& bytes) -> uint32_t {
        Ctx c(hex(bytes));
        mmt_parse_result r = c.validate(p);
        REQUIRE(r.status == MMT_OK);
        mmt_class_result out{};
        return p.classify(&c.c, &r, &out) ? out.next_id : 0;
    };
    CHECK(classify("01 01 aaaa 07") == 11);
    CHECK(classify("01 01 aaaa 08") == 12);
    // The body is cut short: the body rule cannot be evaluated, the header rule still runs.
    CHECK(classify("01 02 aaaa") == 12);
    CHECK(classify("02 02 aaaa") == 0);
}
