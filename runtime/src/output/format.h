// Text forms of attribute values, as tshark prints them, and escaping for CSV and JSON.
#pragma once

#include "mmt/abi.h"

#include <string>
#include <string_view>

namespace mmt {

/// An unsigned integer in decimal, without allocating (std::to_chars).
void append_decimal(std::string& out, uint64_t v);
/// Nanoseconds as seconds with nine decimals: 1700000000.000000000.
void append_seconds(std::string& out, uint64_t ns);
/// The same written at `p` (room for 20 and 30 bytes); return the end.
char* write_decimal(char* p, uint64_t v);
char* write_seconds(char* p, uint64_t ns);

/// Decimal integers (or, with `hex_digits` N > 0, "0x" and at least N lower-case hex
/// digits, as tshark prints BASE_HEX fields), 1/0 booleans, dotted IPv4, RFC 5952 IPv6,
/// lower-case aa:bb MAC, strings as text with control characters escaped (\r, \n, \t,
/// \xNN).
void append_value(std::string& out, const mmt_value& v, uint32_t hex_digits = 0);
std::string format_value(const mmt_value& v, uint32_t hex_digits = 0);

/// A CSV cell: quoted when it holds a comma, a quote or a line break.
void append_csv(std::string& out, std::string_view cell);
/// A JSON string literal, quotes included: valid UTF-8 as it is, `"` `\\` and control
/// characters escaped, and each byte that is not part of valid UTF-8 as \u00NN.
void append_json(std::string& out, std::string_view s);
/// A value as JSON, escaped once: integers and booleans (1 or 0) as numbers, strings from
/// their bytes as append_json writes them, everything else as its text form in quotes.
void append_json_value(std::string& out, const mmt_value& v);

} // namespace mmt
