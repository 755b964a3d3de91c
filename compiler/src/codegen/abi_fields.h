// Named field indices of the ABI structs as the code generator declares them
// (abi_types.cpp): one constant per field of runtime/include/mmt/abi.h, in declaration
// order. The static_asserts below tie each name to its C field: listed by index, the C
// offsets must strictly increase and cover every field, so a field added, removed or
// moved in abi.h stops the build here. test_codegen_library.cpp then holds the LLVM
// layout to the same offsets.
#pragma once

#include "mmt/abi.h"

#include <cstddef>
#include <utility>

namespace mmtc::codegen::abi {

/// mmt_value
namespace value {
enum : unsigned { Type, Len, U, Ptr, Count };
}
/// mmt_parse_result
namespace result {
enum : unsigned {
    Status,
    FailReason,
    FailField,
    FailOffset,
    HeaderLen,
    PayloadLen,
    PayloadTruncated,
    Reserved,
    Count
};
}
/// mmt_scratch
namespace scratch {
enum : unsigned { Base, Cap, Used, Count };
}
/// mmt_ctx
namespace ctx {
enum : unsigned {
    Data,
    Len,
    Direction,
    Linktype,
    ParentId,
    Parent,
    Scratch,
    Memo,
    State,
    EventsWanted,
    Emit,
    User,
    Count
};
}
/// mmt_key: the three lengths, then the three sides; side s (0 shared, 1 a, 2 b) has
/// its length at SharedLen + s and its bytes at Shared + s.
namespace key {
enum : unsigned { SharedLen, ALen, BLen, Overflow, Shared, A, B, Count };
}
/// mmt_class_result
namespace cls {
enum : unsigned { NextId, Weight, Flags, Count };
}
/// mmt_stream_info
namespace stream {
enum : unsigned { Seq, Flags, Count };
}
/// mmt_frag_info
namespace frag {
enum : unsigned { Id, Offset, More, Count };
}
/// mmt_attr
namespace attr {
enum : unsigned { Name, Type, Kind, Get, EventIndex, HexDigits, Description, Count };
}
/// mmt_proto
namespace proto {
enum : unsigned {
    Id,
    Name,
    Flags,
    SessionTimeoutMs,
    StateSize,
    NAttrs,
    Attrs,
    NFields,
    Fields,
    PduTerminator,
    PduTerminatorLen,
    MaxPdu,
    Validate,
    Analyse,
    Key,
    Classify,
    PduLength,
    Update,
    InitState,
    Stream,
    Fragment,
    Sides,
    ReleaseState,
    Count
};
}
/// mmt_service
namespace service {
enum : unsigned { Name, NNames, Names, NPrefixes, Prefixes, Count };
}
/// mmt_library
namespace library {
enum : unsigned { AbiVersion, NProtos, Protos, NServices, Services, Count };
}

namespace check {
/// (index, C offset) pairs of one struct, in any order: true when the indices are
/// 0..count-1, each once, and the offsets increase with the index.
template <size_t N>
constexpr bool inOrder(const std::pair<unsigned, size_t> (&f)[N], unsigned count, size_t size) {
    if (N != count) return false;
    for (unsigned i = 0; i < count; ++i) {
        int seen = 0;
        size_t off = 0;
        for (const auto& [idx, o] : f)
            if (idx == i) {
                ++seen;
                off = o;
            }
        if (seen != 1 || off >= size) return false;
        if (i > 0)
            for (const auto& [idx, o] : f)
                if (idx == i - 1 && o >= off) return false;
    }
    return true;
}

#define MMT_F(S, ns, Name, member) std::pair<unsigned, size_t>(ns::Name, offsetof(S, member))

constexpr std::pair<unsigned, size_t> kValue[] = {
    MMT_F(mmt_value, value, Type, type), MMT_F(mmt_value, value, Len, len),
    MMT_F(mmt_value, value, U, u), MMT_F(mmt_value, value, Ptr, ptr)};
static_assert(inOrder(kValue, value::Count, sizeof(mmt_value)));

constexpr std::pair<unsigned, size_t> kResult[] = {
    MMT_F(mmt_parse_result, result, Status, status),
    MMT_F(mmt_parse_result, result, FailReason, fail_reason),
    MMT_F(mmt_parse_result, result, FailField, fail_field),
    MMT_F(mmt_parse_result, result, FailOffset, fail_offset),
    MMT_F(mmt_parse_result, result, HeaderLen, header_len),
    MMT_F(mmt_parse_result, result, PayloadLen, payload_len),
    MMT_F(mmt_parse_result, result, PayloadTruncated, payload_truncated),
    MMT_F(mmt_parse_result, result, Reserved, reserved)};
static_assert(inOrder(kResult, result::Count, sizeof(mmt_parse_result)));

constexpr std::pair<unsigned, size_t> kCtx[] = {
    MMT_F(mmt_ctx, ctx, Data, data),           MMT_F(mmt_ctx, ctx, Len, len),
    MMT_F(mmt_ctx, ctx, Direction, direction), MMT_F(mmt_ctx, ctx, Linktype, linktype),
    MMT_F(mmt_ctx, ctx, ParentId, parent_id),  MMT_F(mmt_ctx, ctx, Parent, parent),
    MMT_F(mmt_ctx, ctx, Scratch, scratch),     MMT_F(mmt_ctx, ctx, Memo, memo),
    MMT_F(mmt_ctx, ctx, State, state),         MMT_F(mmt_ctx, ctx, EventsWanted, events_wanted),
    MMT_F(mmt_ctx, ctx, Emit, emit),           MMT_F(mmt_ctx, ctx, User, user)};
static_assert(inOrder(kCtx, ctx::Count, sizeof(mmt_ctx)));

constexpr std::pair<unsigned, size_t> kScratch[] = {MMT_F(mmt_scratch, scratch, Base, base),
                                                    MMT_F(mmt_scratch, scratch, Cap, cap),
                                                    MMT_F(mmt_scratch, scratch, Used, used)};
static_assert(inOrder(kScratch, scratch::Count, sizeof(mmt_scratch)));

constexpr std::pair<unsigned, size_t> kKey[] = {MMT_F(mmt_key, key, SharedLen, shared_len),
                                                MMT_F(mmt_key, key, ALen, a_len),
                                                MMT_F(mmt_key, key, BLen, b_len),
                                                MMT_F(mmt_key, key, Overflow, overflow),
                                                MMT_F(mmt_key, key, Shared, shared),
                                                MMT_F(mmt_key, key, A, a),
                                                MMT_F(mmt_key, key, B, b)};
static_assert(inOrder(kKey, key::Count, sizeof(mmt_key)));
static_assert(key::ALen - key::SharedLen == 1 && key::BLen - key::SharedLen == 2 &&
              key::A - key::Shared == 1 && key::B - key::Shared == 2);

constexpr std::pair<unsigned, size_t> kClass[] = {MMT_F(mmt_class_result, cls, NextId, next_id),
                                                  MMT_F(mmt_class_result, cls, Weight, weight),
                                                  MMT_F(mmt_class_result, cls, Flags, flags)};
static_assert(inOrder(kClass, cls::Count, sizeof(mmt_class_result)));

constexpr std::pair<unsigned, size_t> kStream[] = {MMT_F(mmt_stream_info, stream, Seq, seq),
                                                   MMT_F(mmt_stream_info, stream, Flags, flags)};
static_assert(inOrder(kStream, stream::Count, sizeof(mmt_stream_info)));

constexpr std::pair<unsigned, size_t> kFrag[] = {MMT_F(mmt_frag_info, frag, Id, id),
                                                 MMT_F(mmt_frag_info, frag, Offset, offset),
                                                 MMT_F(mmt_frag_info, frag, More, more)};
static_assert(inOrder(kFrag, frag::Count, sizeof(mmt_frag_info)));

constexpr std::pair<unsigned, size_t> kAttr[] = {MMT_F(mmt_attr, attr, Name, name),
                                                 MMT_F(mmt_attr, attr, Type, type),
                                                 MMT_F(mmt_attr, attr, Kind, kind),
                                                 MMT_F(mmt_attr, attr, Get, get),
                                                 MMT_F(mmt_attr, attr, EventIndex, event_index),
                                                 MMT_F(mmt_attr, attr, HexDigits, hex_digits),
                                                 MMT_F(mmt_attr, attr, Description, description)};
static_assert(inOrder(kAttr, attr::Count, sizeof(mmt_attr)));

constexpr std::pair<unsigned, size_t> kProto[] = {
    MMT_F(mmt_proto, proto, Id, id),
    MMT_F(mmt_proto, proto, Name, name),
    MMT_F(mmt_proto, proto, Flags, flags),
    MMT_F(mmt_proto, proto, SessionTimeoutMs, session_timeout_ms),
    MMT_F(mmt_proto, proto, StateSize, state_size),
    MMT_F(mmt_proto, proto, NAttrs, n_attrs),
    MMT_F(mmt_proto, proto, Attrs, attrs),
    MMT_F(mmt_proto, proto, NFields, n_fields),
    MMT_F(mmt_proto, proto, Fields, fields),
    MMT_F(mmt_proto, proto, PduTerminator, pdu_terminator),
    MMT_F(mmt_proto, proto, PduTerminatorLen, pdu_terminator_len),
    MMT_F(mmt_proto, proto, MaxPdu, max_pdu),
    MMT_F(mmt_proto, proto, Validate, validate),
    MMT_F(mmt_proto, proto, Analyse, analyse),
    MMT_F(mmt_proto, proto, Key, key),
    MMT_F(mmt_proto, proto, Classify, classify),
    MMT_F(mmt_proto, proto, PduLength, pdu_length),
    MMT_F(mmt_proto, proto, Update, update),
    MMT_F(mmt_proto, proto, InitState, init_state),
    MMT_F(mmt_proto, proto, Stream, stream),
    MMT_F(mmt_proto, proto, Fragment, fragment),
    MMT_F(mmt_proto, proto, Sides, sides),
    MMT_F(mmt_proto, proto, ReleaseState, release_state)};
static_assert(inOrder(kProto, proto::Count, sizeof(mmt_proto)));

constexpr std::pair<unsigned, size_t> kService[] = {
    MMT_F(mmt_service, service, Name, name), MMT_F(mmt_service, service, NNames, n_names),
    MMT_F(mmt_service, service, Names, names), MMT_F(mmt_service, service, NPrefixes, n_prefixes),
    MMT_F(mmt_service, service, Prefixes, prefixes)};
static_assert(inOrder(kService, service::Count, sizeof(mmt_service)));

constexpr std::pair<unsigned, size_t> kLibrary[] = {
    MMT_F(mmt_library, library, AbiVersion, abi_version),
    MMT_F(mmt_library, library, NProtos, n_protos), MMT_F(mmt_library, library, Protos, protos),
    MMT_F(mmt_library, library, NServices, n_services),
    MMT_F(mmt_library, library, Services, services)};
static_assert(inOrder(kLibrary, library::Count, sizeof(mmt_library)));

#undef MMT_F
} // namespace check

} // namespace mmtc::codegen::abi
