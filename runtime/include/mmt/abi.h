/* The stage ABI: the one header shared by the compiler (which generates code that
 * fills these tables) and the runtime (which calls them). Plain C, no dependencies.
 *
 * A compiled protocol library is one `mmt_library` reached through the symbol
 * MMT_LIBRARY_SYMBOL. Each protocol is an `mmt_proto`: constants, an attribute table
 * and the stage functions the packet journey calls. Every stage function receives an
 * `mmt_ctx` describing the bytes of this protocol in the current packet; generated code
 * never reads outside [ctx->data, ctx->data + ctx->len).
 */
#ifndef MMT_ABI_H
#define MMT_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMT_ABI_VERSION 7u
#define MMT_LIBRARY_SYMBOL "mmt_library_v4"

/* Value types of attributes. */
enum mmt_type {
    MMT_T_NONE = 0,
    MMT_T_UINT = 1,   /* unsigned integer in value.u (any width up to 64 bits) */
    MMT_T_BOOL = 2,   /* 0 or 1 in value.u */
    MMT_T_BYTES = 3,  /* value.ptr / value.len: a view into the packet or the scratch buffer */
    MMT_T_STRING = 4, /* same as bytes, printed as text */
    MMT_T_MAC = 5,    /* value.ptr -> 6 bytes */
    MMT_T_IPV4 = 6,   /* value.ptr -> 4 bytes, network order */
    MMT_T_IPV6 = 7    /* value.ptr -> 16 bytes */
};

typedef struct mmt_value {
    uint32_t type; /* enum mmt_type */
    uint32_t len;  /* bytes behind ptr (BYTES, STRING, MAC, IPV4, IPV6) */
    uint64_t u;    /* UINT, BOOL */
    const uint8_t* ptr;
} mmt_value;

/* Results of validation and analysis. */
enum mmt_status {
    MMT_OK = 0,
    MMT_TRUNCATED = 1, /* the packet ends before the protocol's data does */
    MMT_MALFORMED = 2  /* a constraint failed or a length is impossible */
};

/* Why a field failed (mmt_parse_result.fail_reason). */
enum mmt_fail_reason {
    MMT_FAIL_NONE = 0,
    MMT_FAIL_BOUNDS = 1,     /* read past the end of the data */
    MMT_FAIL_REQUIRES = 2,   /* a `requires` constraint is false */
    MMT_FAIL_LENGTH = 3,     /* a computed length is negative or exceeds its region */
    MMT_FAIL_CAP = 4,        /* a list has more elements than its `max` */
    MMT_FAIL_TERMINATOR = 5, /* a terminator was not found */
    MMT_FAIL_ARITHMETIC = 6  /* division by zero while computing a length or condition */
};

typedef struct mmt_parse_result {
    uint32_t status;            /* enum mmt_status */
    uint32_t fail_reason;       /* enum mmt_fail_reason */
    int32_t fail_field;         /* index into mmt_proto.fields, -1 when no field is to blame */
    uint32_t fail_offset;       /* byte offset of the failure from ctx->data */
    uint32_t header_len;        /* bytes of this protocol's header (validate) */
    uint32_t payload_len;       /* bytes of payload after the header, clamped to the data */
    uint32_t payload_truncated; /* the declared payload is longer than the data */
    uint32_t reserved;
} mmt_parse_result;

typedef struct mmt_ctx mmt_ctx;

/* Per-packet memory for computed values (joined names, decompressed DNS names). One per
 * packet, shared by every protocol of the path, so a value computed for one protocol is
 * never overwritten by another's. */
typedef struct mmt_scratch {
    uint8_t* base;
    uint32_t cap;
    uint32_t used;
} mmt_scratch;

/* Raised by analyse for each event-based attribute occurrence. */
typedef void (*mmt_event_fn)(mmt_ctx* ctx, uint32_t attr_index, const mmt_value* value);

/* What the generated code knows about the current packet at one protocol. */
struct mmt_ctx {
    const uint8_t* data;   /* first byte of this protocol's header */
    uint32_t len;          /* bytes available from data (captured, clamped by the parent) */
    uint32_t direction;    /* 0: initiator to responder, 1: the reverse */
    uint32_t linktype;     /* the capture's link type (frame protocol) */
    uint32_t parent_id;    /* id of the protocol below on the path, or 0 */
    const mmt_ctx* parent; /* the protocol below, or NULL */
    mmt_scratch* scratch;  /* per-packet memory for computed strings, or NULL */
    /* The values of this layer's attributes that others use, each computed once a packet
     * (mmt_rt_memo): NULL when a layer is entered, and again whenever the direction or the
     * state changes. The generated code sets it. */
    void* memo;
    void* state;            /* this protocol's per-session state, or NULL */
    uint64_t events_wanted; /* bit i set: someone listens to event attribute i */
    mmt_event_fn emit;
    void* user; /* the runtime's */
};

/* Session keys: parts are appended side by side; the runtime canonicalises. */
#define MMT_KEY_SIDE_MAX 96u
typedef struct mmt_key {
    uint16_t shared_len, a_len, b_len, overflow;
    uint8_t shared[MMT_KEY_SIDE_MAX]; /* parts that do not depend on direction */
    uint8_t a[MMT_KEY_SIDE_MAX];      /* the sender's side as seen in this packet */
    uint8_t b[MMT_KEY_SIDE_MAX];      /* the receiver's side */
} mmt_key;

enum mmt_class_flags {
    MMT_CLASS_QUOTED = 1u /* the payload quotes another packet: walk it, but make no sessions */
};

typedef struct mmt_class_result {
    uint32_t next_id; /* protocol id of the payload */
    uint32_t weight;  /* weight of the rule that matched */
    uint32_t flags;   /* enum mmt_class_flags */
} mmt_class_result;

/* TCP-like streams: what the reassembler needs from a segment. */
enum { MMT_STREAM_SYN = 1u, MMT_STREAM_FIN = 2u, MMT_STREAM_RST = 4u };
typedef struct mmt_stream_info {
    uint32_t seq;
    uint32_t flags;
} mmt_stream_info;

/* IP-like fragments: what the defragmenter needs. */
typedef struct mmt_frag_info {
    uint64_t id;     /* with the session-key parts, identifies the datagram */
    uint32_t offset; /* bytes */
    uint32_t more;   /* more fragments follow */
} mmt_frag_info;

/* Stage functions. Each returns as documented; none allocates or keeps pointers. */
typedef int32_t (*mmt_validate_fn)(const mmt_ctx*, mmt_parse_result*); /* enum mmt_status */
typedef int32_t (*mmt_analyse_fn)(mmt_ctx*, mmt_parse_result*);        /* enum mmt_status */
typedef int32_t (*mmt_getter_fn)(mmt_ctx*, mmt_value*);                /* 1 present, 0 absent */
typedef int32_t (*mmt_key_fn)(const mmt_ctx*, mmt_key*); /* 1 ok, 0 the key cannot be read */
/* The two sides of a session key when each is a single value (addresses, ports):
 * what a flow record prints. 1 ok, 0 not available. */
typedef int32_t (*mmt_sides_fn)(const mmt_ctx*, mmt_value* a, mmt_value* b);
typedef int32_t (*mmt_classify_fn)(const mmt_ctx*, const mmt_parse_result*,
                                   mmt_class_result*); /* 1 matched, 0 not */
typedef int64_t (*mmt_pdu_fn)(
    const mmt_ctx*);                     /* >0: PDU length, 0: need more bytes, <0: malformed */
typedef void (*mmt_update_fn)(mmt_ctx*); /* post_analyse: update ctx->state */
typedef void (*mmt_init_state_fn)(void* state);
typedef int32_t (*mmt_stream_fn)(const mmt_ctx*, mmt_stream_info*); /* 1 ok */
typedef int32_t (*mmt_frag_fn)(const mmt_ctx*, mmt_frag_info*);     /* 1: this is a fragment */

enum mmt_attr_kind { MMT_ATTR_REQUEST = 0, MMT_ATTR_EVENT = 1 };

typedef struct mmt_attr {
    const char* name;
    uint32_t type;           /* enum mmt_type */
    uint32_t kind;           /* enum mmt_attr_kind */
    mmt_getter_fn get;       /* request-based attributes; NULL for event-based ones */
    uint32_t event_index;    /* event-based: bit in ctx->events_wanted */
    uint32_t hex_digits;     /* UINT: 0 prints in decimal; N prints "0x" and N digits at least */
    const char* description; /* its doc comment in the spec ("" when none) */
} mmt_attr;

enum mmt_proto_flags {
    MMT_PROTO_HAS_KEY = 1u,     /* contributes parts to session keys */
    MMT_PROTO_SESSION = 2u,     /* sessions are created at this protocol */
    MMT_PROTO_STREAM = 4u,      /* its payload is a byte stream to reassemble */
    MMT_PROTO_FRAGMENTS = 8u,   /* its payload may be fragmented */
    MMT_PROTO_PDU_LENGTH = 16u, /* PDUs are delimited by pdu_length */
    MMT_PROTO_PDU_UNTIL = 32u,  /* PDUs end with pdu_terminator */
    MMT_PROTO_BUILTIN = 64u     /* the `frame` pseudo-protocol */
};

typedef struct mmt_proto {
    uint32_t id;
    const char* name;
    uint32_t flags; /* enum mmt_proto_flags */
    uint32_t session_timeout_ms;
    uint32_t state_size;
    uint32_t n_attrs;
    const mmt_attr* attrs;
    uint32_t n_fields;
    const char* const* fields; /* field names, for failure reports */
    const char* pdu_terminator;
    uint32_t pdu_terminator_len;
    uint32_t max_pdu; /* longest stream PDU in bytes (`max_pdu`); 0: the run's default */
    mmt_validate_fn validate;
    mmt_analyse_fn analyse;   /* NULL when there are no event attributes */
    mmt_key_fn key;           /* NULL without key */
    mmt_classify_fn classify; /* NULL when nothing runs over it */
    mmt_pdu_fn pdu_length;    /* NULL unless MMT_PROTO_PDU_LENGTH */
    mmt_update_fn update;     /* NULL without state updates */
    mmt_init_state_fn init_state;
    mmt_stream_fn stream;            /* NULL unless MMT_PROTO_STREAM */
    mmt_frag_fn fragment;            /* NULL unless MMT_PROTO_FRAGMENTS */
    mmt_sides_fn sides;              /* NULL unless the key has one value per side */
    mmt_init_state_fn release_state; /* NULL unless the state holds bytes: frees them */
} mmt_proto;

/* A service that flows are named by (a `service` of the specs, docs/services.md). The
 * runtime builds its matchers from these tables when it loads the library. */
#define MMT_PREFIX_SIZE 18u
typedef struct mmt_service {
    const char* name;
    uint32_t n_names;
    /* Host names, lower case, without a final dot: "example.com" matches itself and every
     * name under it; "*.example.com" only the names under it. */
    const char* const* names;
    uint32_t n_prefixes;
    /* n_prefixes records of MMT_PREFIX_SIZE bytes: the family (4 or 6), the length in
     * bits, then 16 address bytes in network order (an IPv4 address in the first 4), the
     * bits past the length zero. */
    const uint8_t* prefixes;
} mmt_service;

typedef struct mmt_library {
    uint32_t abi_version; /* MMT_ABI_VERSION */
    uint32_t n_protos;
    const mmt_proto* protos; /* protos[0] is `frame` */
    uint32_t n_services;
    const mmt_service* services; /* by name; a name and a prefix belong to one service */
} mmt_library;

#ifdef __cplusplus
}
#endif

#endif /* MMT_ABI_H */
