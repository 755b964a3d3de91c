// Outputs of the runtime as a library: rows of attributes per packet and flow records, as
// tab-separated text, CSV or JSON lines, written to whatever the program chooses.
//
//   mmt::Handler h(*lib);
//   std::vector<std::string> names = {"ipv4.src", "http.host"};
//   std::vector<int> columns;
//   for (auto& n : names) columns.push_back(h.request(n));
//   mmt::PacketWriter rows(mmt::Format::Csv, names, columns, mmt::file_output(stdout));
//   mmt::FlowWriter flows(mmt::Format::Json, mmt::file_output(stderr));
//   rows.header();
//   h.on_packet([&](const mmt::PacketView& p) { rows.write(p); return mmt::Action::Continue; });
//   h.on_session_end([&](const mmt::SessionInfo& s) { flows.write(s); });
//
// See docs/runtime-api.md (Outputs) for the formats.
#pragma once

#include "mmt/runtime.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mmt {

/// The output formats.
enum class Format {
    Text, ///< packets: tab-separated values; flows: one "flow ID ..." line each
    Csv,  ///< a header line, then one row per packet or flow (RFC 4180 quoting)
    Json  ///< JSON lines: one object per packet or flow
};

/// "text" (or "fields"), "csv", "json" (or "jsonl"); false when the name is unknown.
bool parse_format(std::string_view name, Format& format);

/// Receives each line a writer produces, its '\n' included.
using LineOutput = std::function<void(std::string_view line)>;
/// Lines written to a C stream (not closed by the writer).
LineOutput file_output(std::FILE* stream);

/// Rows of requested attributes, one per packet. A cell holds every occurrence of its
/// attribute, comma-separated (text and CSV) or as an array when there are several (JSON,
/// where a missing value is null and integers and booleans are not quoted).
class PacketWriter {
  public:
    /// `names[i]` heads the column `columns[i]` returned by Handler::request.
    PacketWriter(Format format, std::vector<std::string> names, std::vector<int> columns,
                 LineOutput output);
    /// CSV: the names as a header line; nothing in the other formats.
    void header();
    /// One row: the requested values of the packet.
    void write(const PacketView& packet);

  private:
    void jsonValues(std::span<const Value> values);
    Format format_;
    std::vector<std::string> names_;
    std::vector<int> columns_;
    LineOutput output_;
    std::string line_, cell_; // reused: a row allocates nothing once they have grown
};

/// How a field of a flow record is typed, and so written.
enum class FlowFieldKind : uint8_t {
    Number,       ///< an unsigned integer
    Text,         ///< a string
    Address,      ///< an address as text, "" when the flow has none
    Port,         ///< a port; 0 when the flow has none (CSV: empty, JSON: null, text: omitted)
    PerDirection, ///< two counters: from the initiator, then from the responder
    Time          ///< nanoseconds since the epoch, written as seconds.nanoseconds
};

/// The value of one field of one flow record.
struct FlowFieldValue {
    std::string_view text;  ///< Text and Address
    uint64_t n[2] = {0, 0}; ///< Number, Port and Time in n[0]; PerDirection in both
};

/// One field of a flow record: the schema every format is written from.
struct FlowField {
    const char* name; ///< the JSON key and CSV column (per direction: NAME_fwd, NAME_rev)
    FlowFieldKind kind;
    /// Text format: what comes before the value ("path=", "-> "). A Port joins the Address
    /// before it as "address:port" ("[address]:port" for IPv6).
    const char* text_prefix;
    const char* text_empty; ///< text format: what an empty Text value shows
    FlowFieldValue (*get)(const SessionInfo&);
};

/// The fields of a flow record, in order. CSV lays consecutive per-direction fields out
/// direction by direction (packets_fwd, bytes_fwd, packets_rev, bytes_rev).
std::span<const FlowField> flow_schema();

/// Flow records, one per session, from flow_schema().
class FlowWriter {
  public:
    FlowWriter(Format format, LineOutput output);
    /// CSV: the header line; nothing in the other formats. write() calls it before the
    /// first record when it has not been called.
    void header();
    /// One record.
    void write(const SessionInfo& session);

  private:
    Format format_;
    LineOutput output_;
    bool headerDone_ = false;
    std::string line_;
};

/// The protocol hierarchy that Handler::hierarchy counts (HandlerOptions::count_paths), as
/// an indented text table after a frames and bytes total.
void write_hierarchy(const Handler& handler, uint64_t packets, uint64_t bytes,
                     const LineOutput& output);

} // namespace mmt
