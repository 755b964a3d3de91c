// Packet rows, flow records and the protocol hierarchy in text, CSV and JSON lines (see
// mmt/writer.h). Every flow format is written from the one schema below.
#include "mmt/writer.h"

#include "output/format.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <type_traits>
#include <utility>

namespace mmt {

bool parse_format(std::string_view name, Format& format) {
    if (name == "text" || name == "fields")
        format = Format::Text;
    else if (name == "csv")
        format = Format::Csv;
    else if (name == "json" || name == "jsonl")
        format = Format::Json;
    else
        return false;
    return true;
}

LineOutput file_output(std::FILE* stream) {
    return [stream](std::string_view line) { std::fwrite(line.data(), 1, line.size(), stream); };
}

// ---------------------------------------------------------------- packets
PacketWriter::PacketWriter(Format format, std::vector<std::string> names, std::vector<int> columns,
                           LineOutput output, RowOptions options)
    : format_(format), names_(std::move(names)), columns_(std::move(columns)),
      output_(std::move(output)), options_(std::move(options)) {
    for (const auto& n : names_)
        scalar_.push_back(options_.occurrence != Occurrence::All || n.rfind("frame.", 0) == 0);
}

void PacketWriter::header() {
    bool wanted = options_.header.value_or(format_ == Format::Csv);
    if (format_ == Format::Json || !wanted) return;
    line_.clear();
    for (size_t i = 0; i < names_.size(); ++i) {
        if (i) line_ += format_ == Format::Csv ? ',' : '\t';
        if (format_ == Format::Csv)
            append_csv(line_, names_[i]);
        else
            line_ += names_[i];
    }
    line_ += '\n';
    output_(line_);
}

namespace {

/// The occurrences a cell holds.
std::span<const Value> pick(std::span<const Value> values, Occurrence o) {
    if (values.empty() || o == Occurrence::All) return values;
    return o == Occurrence::First ? values.first(1) : values.last(1);
}

} // namespace

void PacketWriter::write(const PacketView& p) {
    line_.clear();
    if (format_ == Format::Json) line_ += '{';
    for (size_t i = 0; i < columns_.size(); ++i) {
        std::span<const Value> values = pick(p.values(columns_[i]), options_.occurrence);
        if (format_ == Format::Json) {
            if (i) line_ += ',';
            append_json(line_, names_[i]);
            line_ += ':';
            json_cell(i, values);
            continue;
        }
        if (i) line_ += format_ == Format::Csv ? ',' : '\t';
        // Straight into the line, unless CSV may have to quote the cell: a string's text,
        // or occurrences joined by the aggregator. Numbers, addresses and bytes never hold
        // a comma, a quote or a line break.
        const bool quotable =
            format_ == Format::Csv &&
            (values.size() > 1 || (values.size() == 1 && values[0].v.type == MMT_T_STRING));
        std::string& out = quotable ? cell_ : line_;
        if (quotable) cell_.clear();
        for (size_t k = 0; k < values.size(); ++k) {
            if (k) out += options_.aggregator;
            append_value(out, values[k].v, values[k].hex_digits);
        }
        if (quotable) append_csv(line_, cell_);
    }
    line_ += format_ == Format::Json ? "}\n" : "\n";
    output_(line_);
}

void PacketWriter::json_cell(size_t column, std::span<const Value> values) {
    if (scalar_[column]) {
        // One value per packet (frame.*), or the occurrence picked.
        if (values.empty())
            line_ += "null";
        else
            append_json_value(line_, values[0].v);
        return;
    }
    line_ += '[';
    for (size_t k = 0; k < values.size(); ++k) {
        if (k) line_ += ',';
        append_json_value(line_, values[k].v);
    }
    line_ += ']';
}

// ---------------------------------------------------------------- flows
namespace {

FlowFieldValue number(uint64_t n) {
    FlowFieldValue v;
    v.n[0] = n;
    return v;
}
FlowFieldValue text(std::string_view t) {
    FlowFieldValue v;
    v.text = t;
    return v;
}
FlowFieldValue pair(const uint64_t (&n)[2]) {
    FlowFieldValue v;
    v.n[0] = n[0];
    v.n[1] = n[1];
    return v;
}

using K = FlowFieldKind;
// clang-format off
const FlowField kFlowSchema[] = {
    {"flow",        K::Number,       "flow ",    "",  [](const SessionInfo& s) { return number(s.id); }},
    {"transport",   K::Text,         "",         "",  [](const SessionInfo& s) { return text(s.transport); }},
    {"src",         K::Address,      "",         "",  [](const SessionInfo& s) { return text(s.src); }},
    {"src_port",    K::Port,         "",         "",  [](const SessionInfo& s) { return number(s.src_port); }},
    {"dst",         K::Address,      "-> ",      "",  [](const SessionInfo& s) { return text(s.dst); }},
    {"dst_port",    K::Port,         "",         "",  [](const SessionInfo& s) { return number(s.dst_port); }},
    {"path",        K::Text,         "path=",    "",  [](const SessionInfo& s) { return text(s.path); }},
    {"application", K::Text,         "app=",     "-", [](const SessionInfo& s) { return text(s.application); }},
    {"packets",     K::PerDirection, "packets=", "",  [](const SessionInfo& s) { return pair(s.packets); }},
    {"bytes",       K::PerDirection, "bytes=",   "",  [](const SessionInfo& s) { return pair(s.bytes); }},
    {"payload",     K::PerDirection, "payload=", "",  [](const SessionInfo& s) { return pair(s.payload); }},
    {"first",       K::Time,         "first=",   "",  [](const SessionInfo& s) { return number(s.first_ns); }},
    {"last",        K::Time,         "last=",    "",  [](const SessionInfo& s) { return number(s.last_ns); }},
    {"duration",    K::Time,         "duration=", "", [](const SessionInfo& s) { return number(s.last_ns - s.first_ns); }},
    {"end",         K::Text,         "end=",     "",  [](const SessionInfo& s) { return text(s.end_reason); }},
    {"community_id", K::Text,        "cid=",     "-", [](const SessionInfo& s) { return text(s.community_id); }},
    {"server_name", K::Text,         "server=",  "-", [](const SessionInfo& s) { return text(s.server_name); }},
    {"server_name_from", K::Text,    "from=",    "-", [](const SessionInfo& s) { return text(s.server_name_source); }},
    {"service",     K::Text,         "service=", "-", [](const SessionInfo& s) { return text(s.service); }},
    {"service_from", K::Text,        "service_from=", "-", [](const SessionInfo& s) { return text(s.service_source); }},
    {"ja3",         K::Text,         "ja3=",     "-", [](const SessionInfo& s) { return text(s.ja3); }},
    {"ja4",         K::Text,         "ja4=",     "-", [](const SessionInfo& s) { return text(s.ja4); }},
    {"ja3s",        K::Text,         "ja3s=",    "-", [](const SessionInfo& s) { return text(s.ja3s); }},
    {"vlan",        K::Text,         "vlan=",    "-", [](const SessionInfo& s) { return text(s.vlan); }},
    {"tunnel",      K::Text,         "tunnel=",  "-", [](const SessionInfo& s) { return text(s.tunnel); }},
    {"conn_state",  K::Text,         "state=",   "-", [](const SessionInfo& s) { return text(s.conn_state); }},
    {"history",     K::Text,         "history=", "-", [](const SessionInfo& s) { return text(s.history); }},
};
// clang-format on
constexpr size_t kFlowFields = sizeof kFlowSchema / sizeof kFlowSchema[0];

// Flow records are written for every flow: numbers without fmt's per-call set-up.
void append_time(std::string& out, uint64_t ns) {
    append_seconds(out, ns);
}

void append_number(std::string& out, uint64_t n) {
    append_decimal(out, n);
}

void append_pair(std::string& out, const uint64_t (&n)[2], char sep) {
    append_decimal(out, n[0]);
    out += sep;
    append_decimal(out, n[1]);
}

/// Consecutive per-direction fields from `i` on: [i, end).
size_t direction_run(size_t i) {
    size_t end = i;
    while (end < kFlowFields && kFlowSchema[end].kind == K::PerDirection) ++end;
    return end;
}

void csv_header(std::string& line) {
    for (size_t i = 0; i < kFlowFields;) {
        if (i) line += ',';
        if (kFlowSchema[i].kind != K::PerDirection) {
            append_csv(line, kFlowSchema[i++].name);
            continue;
        }
        size_t end = direction_run(i);
        for (const char* dir : {"_fwd", "_rev"})
            for (size_t k = i; k < end; ++k) {
                if (k > i || dir[1] == 'r') line += ',';
                append_csv(line, std::string(kFlowSchema[k].name) + dir);
            }
        i = end;
    }
    line += '\n';
}

void csv_record(std::string& line, const SessionInfo& s) {
    FlowFieldValue values[kFlowFields];
    for (size_t i = 0; i < kFlowFields; ++i) values[i] = kFlowSchema[i].get(s);
    for (size_t i = 0; i < kFlowFields;) {
        if (i) line += ',';
        const FlowFieldValue& v = values[i];
        switch (kFlowSchema[i].kind) {
        case K::Number:
            append_number(line, v.n[0]);
            break;
        case K::Port:
            if (v.n[0]) append_number(line, v.n[0]);
            break;
        case K::Time:
            append_time(line, v.n[0]);
            break;
        case K::Text:
        case K::Address:
            append_csv(line, v.text);
            break;
        case K::PerDirection: {
            size_t end = direction_run(i);
            for (int dir = 0; dir < 2; ++dir)
                for (size_t k = i; k < end; ++k) {
                    if (k > i || dir) line += ',';
                    append_number(line, values[k].n[dir]);
                }
            i = end;
            continue;
        }
        }
        ++i;
    }
    line += '\n';
}

void json_record(std::string& line, const SessionInfo& s) {
    line += '{';
    for (size_t i = 0; i < kFlowFields; ++i) {
        const FlowField& f = kFlowSchema[i];
        FlowFieldValue v = f.get(s);
        if (i) line += ',';
        append_json(line, f.name);
        line += ':';
        switch (f.kind) {
        case K::Number:
            append_number(line, v.n[0]);
            break;
        case K::Port:
            if (v.n[0])
                append_number(line, v.n[0]);
            else
                line += "null";
            break;
        case K::Time:
            line += '"';
            append_time(line, v.n[0]);
            line += '"';
            break;
        case K::Text:
        case K::Address:
            append_json(line, v.text);
            break;
        case K::PerDirection:
            line += '[';
            append_pair(line, v.n, ',');
            line += ']';
            break;
        }
    }
    line += "}\n";
}

// The text record is written for every flow: its fields go straight into the line,
// whose room is reserved once for the record (at most kFieldRoom bytes a field besides
// its prefix and its text).
constexpr size_t kFieldRoom = 64; // "[", "]:65535", two 20-digit numbers and a '/'...

// Each field's text_prefix and text_empty, in 16 bytes that are copied whole (the room
// reserved for a field holds them): a fixed copy rather than a call for each.
struct Padded {
    char text[16];
    uint8_t len;
};
struct FieldTexts {
    Padded prefix, empty;
};
const std::array<FieldTexts, kFlowFields> kFieldTexts = [] {
    std::array<FieldTexts, kFlowFields> t{};
    auto pad = [](const char* s, Padded& out) {
        out.len = uint8_t(std::min<size_t>(std::strlen(s), sizeof out.text));
        std::memcpy(out.text, s, out.len);
    };
    for (size_t i = 0; i < kFlowFields; ++i) {
        pad(kFlowSchema[i].text_prefix, t[i].prefix);
        pad(kFlowSchema[i].text_empty, t[i].empty);
    }
    return t;
}();

char* put(char* p, std::string_view t) {
    std::memcpy(p, t.data(), t.size());
    return p + t.size();
}

/// Replaces the spaces of [from, to) with '_', eight bytes at a time: the bytes up to 7
/// past `to` may be read (a field's room holds them), not written.
void spaces_to_underscores(char* from, char* to) {
    constexpr uint64_t kOnes = 0x0101010101010101u, kHighs = 0x8080808080808080u;
    for (char* q = from; q < to; q += 8) {
        uint64_t x;
        std::memcpy(&x, q, 8);
        x ^= kOnes * ' ';
        if (!((x - kOnes) & ~x & kHighs)) continue; // no space among these eight
        for (char* c = q; c < to && c < q + 8; ++c)
            if (*c == ' ') *c = '_';
    }
}

char* put(char* p, const Padded& t) {
    std::memcpy(p, t.text, sizeof t.text);
    return p + t.len;
}

/// A text record appended to `line`, written first into `area`, which keeps its size from
/// one record to the next: growing `line` to the record's largest size would fill it with
/// zeros each time.
void text_record(std::string& line, std::string& area, const SessionInfo& s) {
    FlowFieldValue v[kFlowFields];
    size_t room = 1;
    for (size_t i = 0; i < kFlowFields; ++i) {
        v[i] = kFlowSchema[i].get(s);
        room += sizeof(FieldTexts) + v[i].text.size() + kFieldRoom;
    }
    if (area.size() < room) area.resize(room);
    char* const first = area.data();
    char* p = first;
    for (size_t i = 0; i < kFlowFields; ++i) {
        const FlowField& f = kFlowSchema[i];
        if (f.kind == K::Port) continue; // written with its address
        if (i) *p++ = ' ';
        p = put(p, kFieldTexts[i].prefix);
        switch (f.kind) {
        case K::Number:
            p = write_decimal(p, v[i].n[0]);
            break;
        case K::Time:
            p = write_seconds(p, v[i].n[0]);
            break;
        case K::Text: {
            if (v[i].text.empty()) {
                p = put(p, kFieldTexts[i].empty);
                break;
            }
            // One token per field: spaces become '_' ("end of input" is end_of_input).
            char* at = p;
            p = put(p, v[i].text);
            spaces_to_underscores(at, p);
            break;
        }
        case K::Address: {
            uint64_t port =
                i + 1 < kFlowFields && kFlowSchema[i + 1].kind == K::Port ? v[i + 1].n[0] : 0;
            // address:port, with IPv6 addresses in brackets (RFC 5952 section 6).
            bool brackets = port && v[i].text.find(':') != std::string_view::npos;
            if (brackets) *p++ = '[';
            p = put(p, v[i].text);
            if (brackets) *p++ = ']';
            if (port) {
                *p++ = ':';
                p = write_decimal(p, port);
            }
            break;
        }
        case K::PerDirection:
            p = write_decimal(p, v[i].n[0]);
            *p++ = '/';
            p = write_decimal(p, v[i].n[1]);
            break;
        case K::Port:
            break;
        }
    }
    *p++ = '\n';
    line.append(first, size_t(p - first));
}

} // namespace

std::span<const FlowField> flow_schema() {
    return kFlowSchema;
}

FlowWriter::FlowWriter(Format format, LineOutput output, bool header)
    : format_(format), output_(std::move(output)), with_header_(header) {}

void FlowWriter::header() {
    header_done_ = true;
    if (format_ != Format::Csv || !with_header_) return;
    line_.clear();
    csv_header(line_);
    output_(line_);
}

void FlowWriter::write(const SessionInfo& s) {
    if (!header_done_) header();
    line_.clear();
    switch (format_) {
    case Format::Csv:
        csv_record(line_, s);
        break;
    case Format::Json:
        json_record(line_, s);
        break;
    case Format::Text:
        text_record(line_, area_, s);
        break;
    }
    output_(line_);
}

// ---------------------------------------------------------------- hierarchy
namespace {

/// The counters of limits hit, as the summary shows them (HandlerStats' names), and the
/// accounting that shows the limits of bytes were kept.
constexpr std::pair<const char*, uint64_t HandlerStats::*> kLimitCounters[] = {
    {"sessions_evicted", &HandlerStats::sessions_evicted},
    {"sessions_unclassified", &HandlerStats::sessions_unclassified},
    {"flow_paths_not_kept", &HandlerStats::flow_paths_not_kept},
    {"stream_window_skips", &HandlerStats::stream_window_skips},
    {"stream_window_bytes", &HandlerStats::stream_window_bytes},
    {"stream_holes_skips", &HandlerStats::stream_holes_skips},
    {"stream_holes_bytes", &HandlerStats::stream_holes_bytes},
    {"stream_budget_skips", &HandlerStats::stream_budget_skips},
    {"stream_budget_bytes", &HandlerStats::stream_budget_bytes},
    {"pdus_over_max", &HandlerStats::pdus_over_max},
    {"pdus_budget_dropped", &HandlerStats::pdus_budget_dropped},
    {"bodies_skipped", &HandlerStats::bodies_skipped},
    {"fragments_timed_out", &HandlerStats::fragments_timed_out},
    {"fragments_evicted", &HandlerStats::fragments_evicted},
    {"fragments_too_many_pieces", &HandlerStats::fragments_too_many_pieces},
    {"fragments_over_budget", &HandlerStats::fragments_over_budget},
    {"fragments_too_large", &HandlerStats::fragments_too_large},
    {"buffered_bytes_peak", &HandlerStats::buffered_bytes_peak},
    {"fragment_bytes_peak", &HandlerStats::fragment_bytes_peak},
};

} // namespace

Summary::Summary(const Handler& handler)
    : stats(handler.stats()), paths(handler.hierarchy()), applications(handler.applications()) {}

void Summary::add(const Summary& other) {
    // HandlerStats is a row of counters.
    static_assert(sizeof(HandlerStats) % sizeof(uint64_t) == 0 &&
                  std::is_trivially_copyable_v<HandlerStats>);
    constexpr size_t kCounters = sizeof(HandlerStats) / sizeof(uint64_t);
    uint64_t mine[kCounters], theirs[kCounters];
    std::memcpy(mine, &stats, sizeof stats);
    std::memcpy(theirs, &other.stats, sizeof stats);
    for (size_t i = 0; i < kCounters; ++i) mine[i] += theirs[i];
    std::memcpy(&stats, mine, sizeof stats);

    // Paths: a tree walked depth first, siblings by name, i.e. sorted by their names'
    // sequence.
    auto path_less = [](const std::string& a, const std::string& b) {
        size_t i = 0, j = 0;
        while (i < a.size() && j < b.size()) {
            size_t ea = std::min(a.find('.', i), a.size()), eb = std::min(b.find('.', j), b.size());
            int c = a.compare(i, ea - i, b, j, eb - j);
            if (c) return c < 0;
            i = ea + 1, j = eb + 1;
        }
        return a.size() - std::min(i, a.size()) < b.size() - std::min(j, b.size());
    };
    std::map<std::string, Handler::PathCount, decltype(path_less)> merged(path_less);
    for (const auto* list : {&std::as_const(paths), &other.paths})
        for (const auto& p : *list) {
            auto& m = merged[p.path];
            m.path = p.path;
            m.packets += p.packets;
            m.bytes += p.bytes;
        }
    paths.clear();
    for (auto& [_, p] : merged) paths.push_back(std::move(p));

    std::map<std::string, Handler::ApplicationCount> apps;
    for (const auto* list : {&std::as_const(applications), &other.applications})
        for (const auto& a : *list) {
            auto& m = apps[a.application];
            m.application = a.application;
            m.flows += a.flows;
            m.packets += a.packets;
            m.bytes += a.bytes;
        }
    applications.clear();
    for (auto& [_, a] : apps) applications.push_back(std::move(a));
    std::stable_sort(applications.begin(), applications.end(),
                     [](const Handler::ApplicationCount& a, const Handler::ApplicationCount& b) {
                         return a.packets > b.packets;
                     });
}

void write_hierarchy(const Handler& h, uint64_t packets, uint64_t bytes, const LineOutput& out,
                     Format format, bool header) {
    write_hierarchy(Summary(h), packets, bytes, out, format, header);
}

void write_hierarchy(const Summary& summary, uint64_t packets, uint64_t bytes,
                     const LineOutput& out, Format format, bool header) {
    auto depth_of = [](const std::string& path) {
        return size_t(std::count(path.begin(), path.end(), '.'));
    };
    auto last_name = [](const std::string& path) {
        size_t dot = path.rfind('.');
        return path.substr(dot == std::string::npos ? 0 : dot + 1);
    };
    const HandlerStats& stats = summary.stats;
    const auto& apps = summary.applications;
    if (format != Format::Text) {
        // One schema for every record: `kind` says whether it counts a protocol path
        // ("protocol": path, protocol, depth, packets, bytes) or the flows of an application
        // ("application": protocol, flows, packets, bytes); what a kind has not is empty
        // (CSV) or null (JSON). The counters of limits belong to the whole run: the first
        // record (the total of every frame) carries them, as CSV columns or a JSON object.
        std::string line;
        if (format == Format::Csv && header) {
            line = "kind,path,protocol,depth,flows,packets,bytes";
            for (const auto& c : kLimitCounters)
                fmt::format_to(std::back_inserter(line), ",{}", c.first);
            out(line + "\n");
        }
        // depth < 0: an application's record, with `flows`.
        auto record = [&](const std::string& path, const std::string& proto, long depth,
                          uint64_t flows, uint64_t n, uint64_t b, bool total) {
            line.clear();
            bool app = depth < 0;
            if (format == Format::Csv) {
                line += app ? "application," : "protocol,";
                if (!app) append_csv(line, path);
                line += ',';
                append_csv(line, proto);
                line += ',';
                if (!app) append_number(line, uint64_t(depth));
                line += ',';
                if (app) append_number(line, flows);
                fmt::format_to(std::back_inserter(line), ",{},{}", n, b);
                for (const auto& c : kLimitCounters) {
                    line += ',';
                    if (total) fmt::format_to(std::back_inserter(line), "{}", stats.*c.second);
                }
                line += '\n';
            } else {
                line += app ? "{\"kind\":\"application\",\"path\":null"
                            : "{\"kind\":\"protocol\",\"path\":";
                if (!app) append_json(line, path);
                line += ",\"protocol\":";
                append_json(line, proto);
                if (app)
                    fmt::format_to(std::back_inserter(line), ",\"depth\":null,\"flows\":{}", flows);
                else
                    fmt::format_to(std::back_inserter(line), ",\"depth\":{},\"flows\":null", depth);
                fmt::format_to(std::back_inserter(line),
                               ",\"packets\":{},\"bytes\":{},\"limits\":", n, b);
                if (total) {
                    char sep = '{';
                    for (const auto& [name, member] : kLimitCounters) {
                        fmt::format_to(std::back_inserter(line), "{}\"{}\":{}", sep, name,
                                       stats.*member);
                        sep = ',';
                    }
                    line += "}}\n";
                } else {
                    line += "null}\n";
                }
            }
            out(line);
        };
        record("", "frame", 0, 0, packets, bytes, true);
        for (const auto& c : summary.paths)
            record(c.path, last_name(c.path), long(depth_of(c.path) + 1), 0, c.packets, c.bytes,
                   false);
        for (const auto& a : apps)
            record("", a.application, -1, a.flows, a.packets, a.bytes, false);
        return;
    }
    const std::string rule(67, '=');
    std::string line = rule + "\nProtocol Hierarchy Statistics\n";
    fmt::format_to(std::back_inserter(line), "frames:{} bytes:{}\n\n", packets, bytes);
    out(line);
    for (const auto& c : summary.paths) {
        std::string label = std::string(depth_of(c.path) * 2, ' ') + last_name(c.path);
        out(fmt::format("{:<40} frames:{} bytes:{}\n", label, c.packets, c.bytes));
    }
    if (!apps.empty()) {
        out(rule + "\nApplications (flows that ended)\n");
        for (const auto& a : apps)
            out(fmt::format("{:<40} flows:{} frames:{} bytes:{}\n", a.application, a.flows,
                            a.packets, a.bytes));
    }
    out(rule + "\nLimits hit (and the most bytes buffered)\n");
    for (const auto& [name, member] : kLimitCounters)
        out(fmt::format("{:<40} {}\n", name, stats.*member));
    out(rule + "\n");
}

} // namespace mmt
