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
#include <optional>
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

/// Which occurrences of an attribute a cell holds (tshark's `-E occurrence=a|f|l`).
enum class Occurrence {
    All,   ///< every occurrence, in path order
    First, ///< the first only
    Last   ///< the last only
};

/// How rows are laid out (tshark's `-E` options).
struct RowOptions {
    Occurrence occurrence = Occurrence::All;
    /// Between the occurrences of a cell in text and CSV (JSON writes an array).
    std::string aggregator = ",";
    /// A header line of the column names: unset, CSV has one and text has none; JSON never.
    std::optional<bool> header;
};

/// Rows of requested attributes, one per packet. Text and CSV: a cell holds the
/// occurrences of its attribute joined by the aggregator. JSON: one object per packet whose
/// every key has one type on every row. With Occurrence::All a column is an array (`[]`
/// when the packet has no value), except `frame.*` columns, which have one value per
/// packet and are scalars; with First or Last every column is a scalar, `null` when the
/// packet has no value. Integers and booleans (1 or 0, like one-bit header flags) are
/// numbers, everything else a string escaped once.
class PacketWriter {
  public:
    /// `names[i]` heads the column `columns[i]` returned by Handler::request.
    PacketWriter(Format format, std::vector<std::string> names, std::vector<int> columns,
                 LineOutput output, RowOptions options = {});
    /// The names as a header line (see RowOptions::header); nothing otherwise.
    void header();
    /// One row: the requested values of the packet.
    void write(const PacketView& packet);

  private:
    void json_cell(size_t column, std::span<const Value> values);
    Format format_;
    std::vector<std::string> names_;
    std::vector<int> columns_;
    std::vector<bool> scalar_; // JSON: the column is written as a scalar
    LineOutput output_;
    RowOptions options_;
    std::string line_, cell_; // reused: a row allocates nothing once they have grown
};

/// How a field of a flow record is typed, and so written.
enum class FlowFieldKind : uint8_t {
    Number,       ///< an unsigned integer
    Text,         ///< a string
    Address,      ///< an address as text, "" when the flow has none
    Port,         ///< a port; 0 when the flow has none (CSV: empty, JSON: null, text: omitted)
    PerDirection, ///< two counters: from the initiator, then from the responder
    Time          ///< nanoseconds since the epoch, written as seconds.nanoseconds (in JSON
                  ///< a string, which no parser rounds)
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
    /// `header`: CSV starts with a header line (tshark's `-E header=y`).
    FlowWriter(Format format, LineOutput output, bool header = true);
    /// CSV with a header: the header line; nothing otherwise. write() calls it before the
    /// first record when it has not been called.
    void header();
    /// One record.
    void write(const SessionInfo& session);

  private:
    Format format_;
    LineOutput output_;
    bool with_header_ = true;
    bool header_done_ = false;
    std::string line_;
    std::string area_; ///< where a text record is written, then copied: it never shrinks
};

/// The capture file formats a CaptureWriter writes.
enum class CaptureFileFormat {
    Pcap,  ///< classic pcap with nanosecond timestamps: one link type per file
    Pcapng ///< pcapng: one interface per link type, nanosecond timestamps
};

/// "pcap" or "pcapng"; false when the name is unknown.
bool parse_capture_format(std::string_view name, CaptureFileFormat& format);

/// Packets written to a capture file, as they were read (`mmtrun -w`).
class CaptureWriter {
  public:
    CaptureWriter();
    ~CaptureWriter(); ///< closes the file (errors then go unreported: call close())
    CaptureWriter(const CaptureWriter&) = delete;
    CaptureWriter& operator=(const CaptureWriter&) = delete;

    /// Creates (or truncates) `path`; "-" is standard output. False with `error` set.
    bool open(const std::string& path, CaptureFileFormat format, std::string& error);
    /// One packet. A pcap file takes the link type of its first packet, and refuses a
    /// packet of another link type (pcapng takes any). False with `error` set.
    bool write(const RawPacket& packet, std::string& error);
    /// Flushes and closes; false with `error` set when something could not be written.
    /// A pcap file that received no packet gets a header for Ethernet.
    bool close(std::string& error);

  private:
    bool header(uint32_t linktype, std::string& error);
    bool put(const void* data, size_t size, std::string& error);
    std::FILE* file_ = nullptr;
    std::string path_;
    CaptureFileFormat format_ = CaptureFileFormat::Pcap;
    bool started_ = false;
    uint32_t linktype_ = 0;            // pcap: the file's link type
    std::vector<uint32_t> interfaces_; // pcapng: link type of each interface written
    std::vector<uint8_t> block_;
};

/// What a protocol hierarchy summary shows of one handler, or of several added together
/// (mmtrun --workers: each worker's handler counts its own flows).
struct Summary {
    HandlerStats stats;
    std::vector<Handler::PathCount> paths;               ///< in Handler::hierarchy's order
    std::vector<Handler::ApplicationCount> applications; ///< in Handler::applications' order
    Summary() = default;
    explicit Summary(const Handler& handler);
    /// Adds the counts of `other`: counters (and peaks) are summed, paths and applications
    /// merged and kept in their order.
    void add(const Summary& other);
};

/// The protocol hierarchy that Handler::hierarchy counts and the applications that
/// Handler::applications counts (HandlerOptions::count_paths). Text: an indented table
/// after a frames and bytes total, then an "Applications" table (flows, frames, bytes).
/// CSV (after a header line when `header`) and JSON: one record per path prefix and one per
/// application, each with the fields kind ("protocol" or "application"), path, protocol,
/// depth, flows, packets and bytes, those a kind has not left empty (CSV) or null (JSON);
/// the first record is the total of every frame (path "", protocol "frame", depth 0).
/// Then the counters of limits hit (HandlerStats, docs/limits.md): in text a "Limits hit"
/// table; in CSV one column each, filled in the first record only; in JSON an object
/// "limits" in the first record, null in the others.
void write_hierarchy(const Handler& handler, uint64_t packets, uint64_t bytes,
                     const LineOutput& output, Format format = Format::Text, bool header = true);
/// The same for a Summary.
void write_hierarchy(const Summary& summary, uint64_t packets, uint64_t bytes,
                     const LineOutput& output, Format format = Format::Text, bool header = true);

} // namespace mmt
