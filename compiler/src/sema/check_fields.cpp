// Pass check-fields: what each field's suffixes mean for its type, switch cases, and
// fields that could never be parsed (after one that takes the rest of the data).
#include "sema/sema.h"

#include <map>

namespace mmtc::sema {

namespace {

const char* describeField(const ast::Field& f) {
    if (f.isList) return "a list";
    switch (f.type.kind) {
    case ast::TypeSpec::Int:
        return "an integer field";
    case ast::TypeSpec::Varint:
        return f.type.varint == ast::VarintStyle::Quic
                   ? "a QUIC variable-length integer (its first byte gives its size)"
                   : "a variable-length integer";
    case ast::TypeSpec::Mac:
    case ast::TypeSpec::Ipv4:
    case ast::TypeSpec::Ipv6:
        return "an address field";
    case ast::TypeSpec::Bytes:
        return "a bytes field";
    case ast::TypeSpec::Record:
        return "a record field";
    case ast::TypeSpec::Unknown:
        return "this field";
    }
    return "this field";
}

class FieldChecker {
  public:
    explicit FieldChecker(SemaContext& ctx) : ctx_(ctx) {}

    /// Checks `items`; returns the field that takes the rest of the data at their end, if
    /// any. `rest` is one found before them (the header's, for the body).
    const ast::Field* checkList(const std::vector<ast::FieldItem>& items,
                                const ast::Field* rest = nullptr) {
        for (const auto& it : items) {
            if (rest && it.kind != ast::FieldItem::Kind::Requires) {
                std::string what = it.kind == ast::FieldItem::Kind::Switch
                                       ? std::string("this switch")
                                   : it.field->anonymous() ? std::string("this padding field")
                                                           : "field '" + it.field->name + "'";
                ctx_.diags.report(DiagKind::AfterRest, it.range, what, rest->name);
                ctx_.diags.note(DiagKind::TakesRestHere, rest->range, rest->name);
                rest = nullptr; // one report per list
            }
            if (it.kind == ast::FieldItem::Kind::Switch) {
                // An arm that takes the rest of the data leaves nothing after the switch,
                // unless the switch has a size of its own.
                const ast::Field* armRest = checkSwitch(*it.sw);
                if (armRest && !it.sw->size) rest = armRest;
                continue;
            }
            if (it.kind != ast::FieldItem::Kind::Field) continue;
            const ast::Field& f = *it.field;
            checkField(f);
            if (f.extent == ast::Extent::Rest && !f.cond) rest = &f;
        }
        return rest;
    }

  private:
    void checkField(const ast::Field& f) {
        bool scalar = !f.isList && f.type.kind != ast::TypeSpec::Bytes &&
                      f.type.kind != ast::TypeSpec::Record;
        if (f.size && (scalar || f.type.kind == ast::TypeSpec::Bytes))
            ctx_.diags.report(DiagKind::SuffixNotAllowed, f.size->range, "size",
                              f.type.kind == ast::TypeSpec::Bytes
                                  ? "a bytes field; write 'bytes[n]'"
                                  : describeField(f));
        bool base128 =
            f.type.kind == ast::TypeSpec::Varint && f.type.varint == ast::VarintStyle::Base128;
        if (f.max && !f.isList &&
            !(f.type.kind == ast::TypeSpec::Bytes && f.extent == ast::Extent::UntilString) &&
            !base128)
            ctx_.diags.report(DiagKind::SuffixNotAllowed, f.maxRange, "max", describeField(f));
        if (f.max && !f.isList && base128 && (*f.max == 0 || *f.max > ast::kVarintMaxBytes))
            ctx_.diags.report(DiagKind::VarintMaxRange, f.maxRange, *f.max, f.name,
                              ast::kVarintMaxBytes);
        if (f.isList && f.type.kind == ast::TypeSpec::Varint)
            ctx_.diags.report(DiagKind::ListOfVarints, f.type.range, f.name);
        if (f.extent == ast::Extent::UntilString && scalar)
            ctx_.diags.report(DiagKind::SuffixNotAllowed, f.terminatorRange, "until",
                              describeField(f));
        if (f.extent == ast::Extent::UntilExpr && f.type.kind != ast::TypeSpec::Record &&
            f.type.kind != ast::TypeSpec::Unknown)
            ctx_.diags.report(DiagKind::UntilNeedsRecords, f.until->range, f.name);
        if (f.max && *f.max == 0 && !(base128 && !f.isList))
            ctx_.diags.report(DiagKind::MaxZero, f.maxRange, f.name);
        if (f.anonymous() && f.cond == nullptr && f.type.kind == ast::TypeSpec::Record &&
            !f.isList) {
            // A padding record is allowed: it is parsed and skipped.
        }
    }

    /// Checks a switch; returns a field that takes the rest of the data at the end of one
    /// of its arms, if any.
    const ast::Field* checkSwitch(const ast::Switch& sw) {
        if (sw.arms.empty()) {
            ctx_.diags.report(DiagKind::EmptySwitch, sw.range);
            return nullptr;
        }
        const ast::Field* rest = nullptr;
        std::map<uint64_t, const ast::CaseValue*> seen;
        const ast::SwitchArm* dflt = nullptr;
        for (const auto& arm : sw.arms) {
            if (arm.isDefault) {
                if (dflt) {
                    ctx_.diags.report(DiagKind::DuplicateDefault, arm.range);
                    ctx_.diags.note(DiagKind::PreviousItem, dflt->range, "default");
                }
                dflt = &arm;
            }
            for (const auto& v : arm.values) {
                if (v.lo > v.hi) {
                    ctx_.diags.report(DiagKind::EmptyRange, v.range, v.lo, v.hi);
                    continue;
                }
                claimCase(ctx_.diags, seen, v);
            }
            const ast::Field* armRest = checkList(arm.items);
            if (!rest) rest = armRest;
        }
        return rest;
    }

    SemaContext& ctx_;
};

} // namespace

void checkFields(SemaContext& ctx) {
    FieldChecker fc(ctx);
    for (ast::Protocol* p : ctx.ordered) {
        if (p->builtin) continue;
        const ast::Field* rest = p->header ? fc.checkList(p->header->items) : nullptr;
        // Without 'header_length' the header ends where its fields do: a field taking the
        // rest of the data leaves nothing for the body.
        if (p->headerLength) rest = nullptr;
        if (p->body) fc.checkList(p->body->items, rest);
        for (const auto& r : p->records) fc.checkList(r->items);
    }
}

} // namespace mmtc::sema
