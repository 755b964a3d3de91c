// The .mmtp abstract syntax tree. Built from the parse tree in parse/build_ast.cpp only;
// every node carries the source range it came from. Semantic passes fill the few
// annotation members marked "sema" (types, resolved references, layout facts).
#pragma once

#include "ast/builtins.h"
#include "support/source.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mmtc::ast {

struct Expr;
struct Field;
struct Record;
struct Let;
struct Attribute;
struct StateVar;
struct Protocol;
using ExprPtr = std::unique_ptr<Expr>;

enum class ByteOrder { Big, Little };

/// The type of a value, as the checker computes it.
struct Type {
    enum Kind { Error, Int, Bool, Bytes, String, Mac, Ipv4, Ipv6, Record, List };
    Kind kind = Error;
    unsigned width = 64;                 // Int: significant bits
    const ast::Record* record = nullptr; // Record, or List of records
    Kind elem = Error;                   // List: element kind
    unsigned elemWidth = 0;              // List of Int: element width

    static Type error() { return {}; }
    static Type integer(unsigned w = 64) {
        Type t;
        t.kind = Int;
        t.width = w;
        return t;
    }
    static Type of(Kind k) {
        Type t;
        t.kind = k;
        return t;
    }
    bool isError() const { return kind == Error; }
    bool isInt() const { return kind == Int; }
    bool isBytesLike() const { return kind == Bytes || kind == String; }
};

/// One value or an inclusive range in a case list: `80`, `0x00..0x04`.
struct CaseValue {
    SourceRange range;
    uint64_t lo = 0;
    uint64_t hi = 0;
};

/// What a name in an expression refers to (sema).
struct Ref {
    enum Kind {
        None,
        Field,     // a field of the header, body or the enclosing record
        BitName,   // one named bit of an integer field: `syn` in `flags : u9 { ..., syn, fin }`
        Let,       // a computed value
        Attribute, // an attribute of this protocol
        State,     // a per-session state variable
        Payload,   // `payload`: the bytes after this protocol's header
        Builtin,   // `direction`, `linktype`
        Parent,    // `parent`: the protocol below on the path
        ProtoAttr  // `parent.x`: an attribute of the protocol below
    };
    Kind kind = None;
    const ast::Field* field = nullptr;
    unsigned bit = 0; // BitName: bit index, 0 = most significant
    const ast::Let* let = nullptr;
    const ast::Attribute* attribute = nullptr;
    const ast::StateVar* state = nullptr;
    std::string builtin;
};

struct Expr {
    enum class Kind { Int, Bool, String, Name, Member, Index, Call, Unary, Binary, Not, Cond, In };
    Kind kind;
    SourceRange range;
    uint64_t intValue = 0;  // Int
    bool boolValue = false; // Bool
    std::string
        text; // Name / Member / Call: the name; String: decoded bytes; Unary / Binary: operator
    SourceRange nameRange; // Member / Call: the range of the name alone
    std::vector<ExprPtr> operands;
    std::vector<CaseValue> cases; // In

    // sema
    Type type;
    Ref ref;
    const Builtin* builtin = nullptr; // Call: the function called (builtins.h)

    Expr(Kind k, SourceRange r) : kind(k), range(r) {}
};

/// Orders nodes (fields, attributes...) as they are declared: by file, then by place in
/// it (the address only between nodes without a place), so that what is generated from a
/// set or a map of them does not depend on where they happen to lie in memory.
struct ByDeclaration {
    template <class Node> bool operator()(const Node* a, const Node* b) const {
        if (a->range.file != b->range.file) return a->range.file < b->range.file;
        if (a->range.begin.offset != b->range.begin.offset)
            return a->range.begin.offset < b->range.begin.offset;
        return std::less<const Node*>()(a, b);
    }
};

/// A deep copy of the syntax of `e` (sema annotations are not copied).
inline ExprPtr cloneExpr(const Expr& e) {
    auto c = std::make_unique<Expr>(e.kind, e.range);
    c->intValue = e.intValue;
    c->boolValue = e.boolValue;
    c->text = e.text;
    c->nameRange = e.nameRange;
    c->cases = e.cases;
    for (const auto& o : e.operands) c->operands.push_back(cloneExpr(*o));
    return c;
}

/// A type as written in a declaration: `u16`, `string`, `ipv4`, `dns_name`.
struct TypeName {
    SourceRange range;
    std::string name;
};

/// How a variable-length integer is encoded.
enum class VarintStyle {
    Base128, // `varint`: 7 bits a byte, low group first, 0x80 set on every byte but the last
    Quic     // `quic_varint`: the top 2 bits of the first byte give the size (1, 2, 4 or 8
             // bytes), the other 62 bits the value, big-endian (RFC 9000 section 16)
};

/// `varint` takes at most 4 bytes (MQTT's Variable Byte Integer) unless `max N` (1 to 10:
/// 10 bytes hold 64 bits) says otherwise.
constexpr unsigned kVarintDefaultBytes = 4;
constexpr unsigned kVarintMaxBytes = 10;

/// The element type of a field: integer, variable-length integer, address, bytes or a record.
struct TypeSpec {
    enum Kind { Int, Varint, Mac, Ipv4, Ipv6, Bytes, Record, Unknown };
    Kind kind = Unknown;
    SourceRange range;
    std::string name;                          // as written
    unsigned width = 0;                        // Int; Varint: bits of the largest value it can hold
    VarintStyle varint = VarintStyle::Base128; // Varint
    unsigned maxBytes = 0;                     // Varint: the longest encoding
    std::optional<ByteOrder> order;            // Int: explicit le/be suffix
    const ast::Record* record = nullptr;       // sema: Record
};

/// How far a bytes field or a list extends.
enum class Extent {
    Single,      // a single value (not a list, not bytes)
    Rest,        // `bytes`, `rec[] max N`: to the end of the enclosing region
    Count,       // `bytes[n]`, `rec[n] max N`: n bytes / n elements
    Size,        // `rec[] size n max N`: elements filling exactly n bytes
    UntilString, // `bytes until "\r\n"`, `rec[] until "\r\n" max N`: up to a terminator (consumed)
    UntilExpr    // `rec[] until (cond) max N`: up to and including the element where cond holds
};

struct BitName {
    SourceRange range;
    std::string name;
};

struct Switch;

/// One entry of a field list: a field, a standalone `requires`, or a `switch`.
struct FieldItem {
    enum class Kind { Field, Requires, Switch };
    Kind kind;
    SourceRange range;
    std::unique_ptr<ast::Field> field;
    ExprPtr requires_;
    std::unique_ptr<ast::Switch> sw;
};

struct Field {
    SourceRange range;
    SourceRange nameRange;
    std::string name; // "_" for padding
    std::string doc;  // its doc comment (`/// text` before, `///< text` after), or ""
    TypeSpec type;
    bool isList = false;
    Extent extent = Extent::Single;
    ExprPtr count;          // Count: n
    std::string terminator; // UntilString
    SourceRange terminatorRange;
    ExprPtr until;               // UntilExpr
    ExprPtr size;                // `size n`: the field occupies exactly n bytes
    std::optional<uint64_t> max; // `max N`: cap on list elements / bytes
    SourceRange maxRange;
    ExprPtr cond;                   // `if c`
    std::vector<ExprPtr> requires_; // `requires c`
    std::vector<BitName> bitNames;  // `{ a, b, c }`

    // sema
    bool anonymous() const { return name == "_"; }
    bool isBitField = false; // part of a packed group of bit fields
    unsigned bitOffset = 0;  // bit field: offset from the group's first bit
    unsigned groupBits = 0;  // bit field: size of its group in bits
    int index = -1;          // position in the protocol's field table
    const Record* owner = nullptr;
};

struct SwitchArm {
    SourceRange range;
    std::vector<CaseValue> values;
    bool isDefault = false;
    std::vector<FieldItem> items;
};

struct Switch {
    SourceRange range;
    ExprPtr selector;
    ExprPtr size;
    std::vector<SwitchArm> arms;
};

/// A named sequence of fields: `header`, `body`, or a `record`.
struct Record {
    SourceRange range;
    SourceRange nameRange;
    std::string name;
    std::vector<FieldItem> items;
    const Protocol* protocol = nullptr;
};

struct Let {
    SourceRange range;
    SourceRange nameRange;
    std::string name;
    std::string doc; // its doc comment (`/// text` before, `///< text` after), or ""

    std::optional<TypeName> declType;
    ExprPtr value;
    Type type; // sema
};

/// `header_length = e;`, `payload_length = e;`, `pdu_length = e;`
struct LengthDef {
    SourceRange range;
    ExprPtr value;
};

struct Attribute {
    SourceRange range;
    SourceRange nameRange;
    std::string name;
    std::string doc; // its description: its doc comment, or a shorthand's field's or value's

    bool isEvent = false;
    bool shorthand = false; // `attribute a, b;`: the value is the field or value of the same name
    std::optional<TypeName> declType;
    bool hex = false; // `attribute a : u32 hex = ...`: integers print in hexadecimal
    SourceRange hexRange;
    ExprPtr value;  // null for shorthand, or an event attribute of its list elements
    ExprPtr on;     // event: the list walked
    ExprPtr cond;   // `if c`
    Type type;      // sema
    int index = -1; // sema: position in the protocol's attribute table
    // sema: the first definition, when this one is another definition of the same event
    // attribute (all of them raise occurrences of one attribute)
    const Attribute* first = nullptr;
};

struct KeyParts {
    SourceRange range;
    std::vector<ExprPtr> a; // the initiator's side (or non-directional parts)
    std::vector<ExprPtr> b; // the responder's side; empty when not bidirectional
    bool bidirectional = false;
};

struct Session {
    SourceRange range;
    std::optional<KeyParts> key;
    uint64_t timeoutMs = 0;
    SourceRange timeoutRange;
};

/// The most bytes a state variable of bytes may hold (`bytes max N`).
constexpr uint64_t kStateBytesMax = 1u << 20;

struct StateVar {
    SourceRange range;
    SourceRange nameRange;
    std::string name;
    TypeName typeName;
    std::optional<uint64_t> max; // `bytes max N`: the most bytes it holds
    SourceRange maxRange;
    ExprPtr init;
    Type type; // sema
};

struct Update {
    SourceRange range;
    SourceRange nameRange;
    std::string name;
    ExprPtr value;
    ExprPtr cond;
    const StateVar* target = nullptr; // sema
};

struct Over {
    SourceRange range;
    std::string parent;
    SourceRange parentRange;
    bool byPort = false;
    ExprPtr when;
    std::vector<CaseValue> ports;
    std::optional<uint64_t> weight;
    SourceRange weightRange;
    bool quoted = false; // the payload quotes another packet (ICMP errors): no sessions from it
    const Protocol* parentProto = nullptr; // sema
};

struct ClassifyCase {
    SourceRange range;
    std::vector<CaseValue> values;
    std::string target;
    SourceRange targetRange;
    const Protocol* targetProto = nullptr; // sema
};

struct Classify {
    enum class Kind { Value, Port, When };
    Kind kind;
    SourceRange range;
    std::optional<uint64_t> weight;
    SourceRange weightRange;
    ExprPtr expr;                    // Value: the value; When: the condition
    std::vector<ClassifyCase> cases; // Value, Port
    std::string table;               // Value: `using NAME`, whose cases sema copies in
    SourceRange tableRange;
    bool tableFound = false; // sema: `table` names a declared table
    std::string target;      // When
    SourceRange targetRange;
    const Protocol* targetProto = nullptr; // sema, When
};

/// `seq = e;` inside `stream { }` or `fragment { }`.
struct Assignment {
    SourceRange range;
    SourceRange nameRange;
    std::string name;
    ExprPtr value;
};

/// `stream { seq = ...; syn = ...; fin = ...; rst = ...; }` or
/// `fragment { id = ...; offset = ...; more = ...; }`.
struct Block {
    SourceRange range;
    std::vector<Assignment> entries;
    const Assignment* find(const std::string& n) const {
        for (const auto& e : entries)
            if (e.name == n) return &e;
        return nullptr;
    }
};

struct Ports {
    SourceRange range;
    ExprPtr src;
    ExprPtr dst;
};

struct Protocol {
    SourceRange range;
    SourceRange nameRange;
    std::string name;
    std::optional<uint64_t> id;
    SourceRange idRange;
    ByteOrder byteOrder = ByteOrder::Big;
    SourceRange byteOrderRange;
    std::vector<Over> overs;
    std::optional<Ports> ports;
    std::unique_ptr<Record> header;
    std::unique_ptr<Record> body;
    std::vector<std::unique_ptr<Record>> records;
    std::vector<std::unique_ptr<Let>> lets;
    std::optional<LengthDef> headerLength;
    std::optional<LengthDef> payloadLength;
    std::optional<LengthDef> pduLength;
    std::optional<LengthDef> pduBody; // bytes after a `pdu until` head that belong to the PDU
    std::optional<std::string> pduUntil;
    SourceRange pduUntilRange;
    std::optional<uint32_t> maxPdu; // `max_pdu 4MiB;`: bytes
    SourceRange maxPduRange;
    std::vector<std::unique_ptr<Attribute>> attributes;
    std::optional<KeyParts> key;
    std::optional<Session> session;
    std::vector<std::unique_ptr<StateVar>> state;
    std::vector<Update> updates;
    std::vector<Classify> classifies;
    std::optional<Block> stream;
    std::optional<Block> fragment;

    // sema
    std::vector<const Field*> fieldTable; // every named field, in declaration order
    bool builtin = false;                 // the `frame` pseudo-protocol
};

/// One parsed .mmtp file.
/// `table NAME { cases }`: a code space that `classify by value (e) using NAME;` reads.
struct Table {
    SourceRange range;
    SourceRange nameRange;
    std::string name;
    std::vector<ClassifyCase> cases;
};

/// One string of a `service`: a host-name pattern or an address prefix, as written.
struct ServiceEntry {
    SourceRange range;
    std::string text;
};

/// `service NAME { names "...", ...; prefixes "...", ...; }`: what names a flow's service
/// (docs/services.md).
struct Service {
    SourceRange range;
    SourceRange nameRange;
    std::string name;
    std::vector<ServiceEntry> names;
    std::vector<ServiceEntry> prefixes;
};

struct File {
    uint32_t fileId = 0;
    std::vector<std::unique_ptr<Protocol>> protocols;
    std::vector<std::unique_ptr<Table>> tables;
    std::vector<std::unique_ptr<Service>> services;
};

/// Every file of one compilation.
struct Module {
    std::vector<std::unique_ptr<File>> files;
};

} // namespace mmtc::ast
