// Host helpers the generated code calls: string searches and conversions that are
// not worth open-coding in IR. Declared in IR and registered with the JIT from one table
// (host_table.h).
#pragma once

#include "mmt/abi.h"

#include <cstdint>

extern "C" {
/// Index of the first `pat` in `p[0..n)`, or -1.
int64_t mmt_rt_find(const uint8_t* p, int64_t n, const uint8_t* pat, int64_t patlen);
/// How many of the first bytes of `p[0..n)` equal `byte`.
int64_t mmt_rt_run_of(const uint8_t* p, int64_t n, int32_t byte);
/// 1 when `p[0..n)` equals `lit[0..n)` ignoring ASCII case.
int32_t mmt_rt_icase_eq(const uint8_t* p, const uint8_t* lit, int64_t n);
/// Parses optional spaces, then decimal digits: 1 and *out on success, 0 otherwise.
int32_t mmt_rt_to_int(const uint8_t* p, int64_t n, int64_t* out);
/// Whether `p[0..n)` starts with (mode 0), starts with ignoring ASCII case (1), ends with
/// (2) or contains (3) one of the literals of `table`: a count, then (length, bytes) each.
int32_t mmt_rt_match_any(const uint8_t* p, int64_t n, const uint8_t* table, int32_t mode);
/// The DNS name at `off` in the message `p[0..n)` (RFC 1035 4.1.4: compression pointers
/// followed, at most 16 of them), its labels joined by '.', appended to the scratch memory.
/// Returns its length, or -1 (nothing appended) when the name is malformed, runs past the
/// message, exceeds 255 bytes or the scratch memory is full.
int64_t mmt_rt_domain_name(mmt_ctx* ctx, const uint8_t* p, int64_t n, int64_t off);
/// The NetBIOS name first-level encoded in the 32 letters `p[0..n)` (RFC 1001 section
/// 14.1): its first 15 bytes without the trailing spaces, then the suffix byte in hex, as
/// "NAME<20>" (a byte that does not print is written <xx> too, as tshark does), appended to the
/// scratch memory. Returns its length, or -1 (nothing appended) when `n` is not 32, a letter is
/// outside A..P or the scratch memory is full.
int64_t mmt_rt_netbios_name(mmt_ctx* ctx, const uint8_t* p, int64_t n);
/// How many bytes a complete HTTP/1.1 chunked body takes at the start of `p[0..n)`: the
/// chunks, the last chunk, the trailer fields and the final CRLF. -1 when it is cut short
/// (more bytes may complete it), -2 when it is not chunked encoding.
int64_t mmt_rt_chunked_length(const uint8_t* p, int64_t n);
/// The MD5 (`kind` 0) or SHA-256 (1) digest of `p[0..n)`, in lower-case hex, appended to
/// the scratch memory. Returns its length, or -1 (nothing appended) when it is full.
int64_t mmt_rt_digest(mmt_ctx* ctx, const uint8_t* p, int64_t n, int32_t kind);
/// `p[0..n)` in lower-case hex, appended to the scratch memory: its length, or -1.
int64_t mmt_rt_hex(mmt_ctx* ctx, const uint8_t* p, int64_t n);
/// The unsigned value `v` in decimal (`hex_digits` 0) or in lower-case hex, at least
/// `hex_digits` digits, appended to the scratch memory; where it landed, or null when full.
const uint8_t* mmt_rt_append_int(mmt_ctx* ctx, int64_t v, int32_t hex_digits);
/// Sorts the `n` 64-bit signed integers at `p` (not necessarily aligned) in increasing order.
void mmt_rt_sort_ints(uint8_t* p, int64_t n);
/// Decrypts a client's (`server` 0) or a server's (`server` 1) QUIC Initial packet (RFC 9001
/// section 5; RFC 9369 for QUIC v2; the draft versions 22 to 34): `p[0..n)` is the packet
/// from its first byte to the end of its payload (its `Length`), the packet number at
/// `pn_offset`, `version` its version and `dcid[0..dcid_len)` the destination connection id
/// of the client's Initial, from which the keys of both sides derive. Header
/// protection is removed and the payload decrypted (AES-128-GCM) into the scratch memory:
/// returns the plaintext's length and sets *out to it, or -1 when the version has no
/// known salt, the packet is too short, the tag does not verify or the scratch is full.
int64_t mmt_rt_quic_initial(mmt_ctx* ctx, const uint8_t* p, int64_t n, int64_t pn_offset,
                            int64_t version, int32_t server, const uint8_t* dcid, int64_t dcid_len,
                            const uint8_t** out);
/// State variables of bytes (`bytes max N`): the session's state holds a pointer to a heap
/// block (a 32-bit length, then the bytes), null while the value is empty.
/// `mmt_rt_state_bytes_get` returns the bytes of the variable at `slot` and sets *len;
/// `mmt_rt_state_bytes_set` stores `p[0..n)` there, and returns 0 (the value unchanged)
/// when `n` exceeds `max` or memory runs out; `mmt_rt_state_bytes_free` releases the
/// block when the session ends.
const uint8_t* mmt_rt_state_bytes_get(void* slot, int64_t* len);
int32_t mmt_rt_state_bytes_set(void* slot, const uint8_t* p, int64_t n, int64_t max);
void mmt_rt_state_bytes_free(void* slot);
/// Pieces of a stream at offsets: `mmt_rt_assemble_init` takes `n` bytes of data and `n`
/// cleared coverage marks from the scratch memory (null when full); `mmt_rt_assemble_put`
/// copies `p[0..len)` to offset `off` (what would pass `n` is dropped) and marks it;
/// `mmt_rt_assemble_end` returns how many bytes from offset 0 are covered without a gap.
uint8_t* mmt_rt_assemble_init(mmt_ctx* ctx, int64_t n);
void mmt_rt_assemble_put(uint8_t* buf, int64_t n, int64_t off, const uint8_t* p, int64_t len);
int64_t mmt_rt_assemble_end(const uint8_t* buf, int64_t n);
/// Leading and trailing spaces and tabs of `p[0..n)`: sets *start, returns the length left.
int64_t mmt_rt_trim(const uint8_t* p, int64_t n, int64_t* start);
/// Records a failure in `r`: `code` is status | reason << 8 | (field + 1) << 16.
void mmt_rt_fail(mmt_parse_result* r, uint32_t code, int64_t offset);
/// A run of fixed-size fields does not fit in `avail` bytes at `off`: records in `r` the
/// first field whose end (from `runs`, n pairs of end offset and field index) is beyond.
void mmt_rt_short(mmt_parse_result* r, int64_t off, int64_t avail, const int32_t* runs, int32_t n,
                  int32_t status, int32_t reason);
/// Appends bytes to the packet's scratch buffer; the address of the copy, or null when full.
const uint8_t* mmt_rt_scratch_append(mmt_ctx* ctx, const uint8_t* p, int64_t n);
/// Current end of the scratch buffer (where the next append lands).
const uint8_t* mmt_rt_scratch_mark(mmt_ctx* ctx);
/// The layer's memo (ctx->memo): `bytes` zeroed bytes taken from the top of the scratch
/// buffer the first time in a packet, so that they never land inside a value being
/// appended at its bottom. Null without room (values are then computed at each use).
void* mmt_rt_memo(mmt_ctx* ctx, int64_t bytes);
}
