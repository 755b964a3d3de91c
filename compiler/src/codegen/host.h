// Host helpers the generated code calls: string searches and conversions that are
// not worth open-coding in IR. Registered explicitly with the JIT by name.
#pragma once

#include "mmt/abi.h"

#include <cstdint>

extern "C" {
/// Index of the first `pat` in `p[0..n)`, or -1.
int64_t mmt_rt_find(const uint8_t* p, int64_t n, const uint8_t* pat, int64_t patlen);
/// 1 when `p[0..n)` equals `lit[0..n)` ignoring ASCII case.
int32_t mmt_rt_icase_eq(const uint8_t* p, const uint8_t* lit, int64_t n);
/// Parses optional spaces, then decimal digits: 1 and *out on success, 0 otherwise.
int32_t mmt_rt_to_int(const uint8_t* p, int64_t n, int64_t* out);
/// Leading and trailing spaces and tabs of `p[0..n)`: sets *start, returns the length left.
int64_t mmt_rt_trim(const uint8_t* p, int64_t n, int64_t* start);
/// A run of fixed-size fields does not fit in `avail` bytes at `off`: records in `r` the
/// first field whose end (from `runs`, n pairs of end offset and field index) is beyond.
void mmt_rt_short(mmt_parse_result* r, int64_t off, int64_t avail, const int32_t* runs, int32_t n, int32_t status,
                  int32_t reason);
/// Appends bytes to the packet's scratch buffer; the address of the copy, or null when full.
const uint8_t* mmt_rt_scratch_append(mmt_ctx* ctx, const uint8_t* p, int64_t n);
/// Current end of the scratch buffer (where the next append lands).
const uint8_t* mmt_rt_scratch_mark(mmt_ctx* ctx);
}

namespace mmtc::codegen {

struct HostSymbol {
    const char* name;
    void* address;
};

/// Every helper, for the JIT's symbol table.
const HostSymbol* hostSymbols(unsigned& count);

} // namespace mmtc::codegen
