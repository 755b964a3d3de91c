// Pass check-attributes: attributes hold single values of a type users can print,
// event attributes walk lists, and a protocol has at most 64 event attributes.
#include "sema/sema.h"

namespace mmtc::sema {

namespace {
constexpr unsigned kMaxEvents = 64; // bits of mmt_ctx.events_wanted
}

void checkAttributes(SemaContext& ctx) {
    for (ast::Protocol* p : ctx.ordered) {
        if (p->builtin) continue;
        unsigned events = 0;
        for (auto& a : p->attributes) {
            if (a->isEvent && ++events == kMaxEvents + 1)
                ctx.diags.report(DiagKind::TooManyEvents, a->nameRange, p->name, kMaxEvents);
            const ast::Type& t = a->type;
            if (t.kind == ast::Type::Record || t.kind == ast::Type::List) {
                ctx.diags.report(DiagKind::AttributeNotScalar,
                                 a->shorthand || !a->value ? a->nameRange : a->value->range,
                                 a->name, typeName(t));
            }
        }
    }
}

} // namespace mmtc::sema
