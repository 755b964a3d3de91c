// Pass check-attributes: attributes hold single values of a type users can print,
// event attributes walk lists, and a protocol has at most 64 event attributes. `hex`
// needs an integer; the definitions of one event attribute agree on its type.
#include "sema/sema.h"

namespace mmtc::sema {

namespace {
constexpr unsigned kMaxEvents = 64; // bits of mmt_ctx.events_wanted

/// The type of an attribute as users see it: `u16`, `u32 hex`, `string`.
std::string shownAs(const ast::Attribute& a) {
    std::string s = "'" + typeName(a.type);
    return s + (a.hex ? " hex'" : "'");
}
} // namespace

void checkAttributes(SemaContext& ctx) {
    for (ast::Protocol* p : ctx.ordered) {
        if (p->builtin) continue;
        unsigned events = 0;
        for (auto& a : p->attributes) {
            if (a->isEvent && !a->first && ++events == kMaxEvents + 1)
                ctx.diags.report(DiagKind::TooManyEvents, a->nameRange, p->name, kMaxEvents);
            const ast::Type& t = a->type;
            if (a->hex && !t.isError() && !t.isInt())
                ctx.diags.report(DiagKind::HexNeedsInteger, a->hexRange, a->name, typeName(t));
            if (a->first && !t.isError() && !a->first->type.isError() &&
                shownAs(*a) != shownAs(*a->first)) {
                ctx.diags.report(DiagKind::DefinitionsDiffer,
                                 a->declType ? a->declType->range
                                 : a->value  ? a->value->range
                                             : a->nameRange,
                                 a->name, shownAs(*a), shownAs(*a->first));
                ctx.diags.note(DiagKind::FirstDefinitionHere, a->first->nameRange, a->name);
            }
            if (t.kind == ast::Type::Record || t.kind == ast::Type::List) {
                ctx.diags.report(DiagKind::AttributeNotScalar,
                                 a->shorthand || !a->value ? a->nameRange : a->value->range,
                                 a->name, typeName(t));
            }
        }
    }
}

} // namespace mmtc::sema
