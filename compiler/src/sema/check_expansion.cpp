// Pass check-expansion: an expression that names a value is compiled as if the value's own
// expression stood there, and so on through the values that one names. Nesting in the text
// is bounded by the parser; through names it is bounded here, in depth (the same 1,000
// levels: the code generator recurses once a level) and in size once written out (a chain
// of values each naming the one before twice doubles at every step: forty lines would
// come to a trillion operations).
#include "sema/sema.h"

#include <algorithm>
#include <map>

namespace mmtc::sema {

namespace {

constexpr uint64_t kMaxValueDepth = 1000;
constexpr uint64_t kMaxValueSize = 1000000;

struct Extent {
    uint64_t depth = 0;
    uint64_t size = 0;     // saturates above kMaxValueSize
    bool namesBad = false; // a value it names is over a limit on its own (reported there)
    bool over() const { return depth > kMaxValueDepth || size > kMaxValueSize; }
};

class Expansion {
  public:
    Extent of(const ast::Expr& e) {
        Extent x{1, 1};
        for (const auto& o : e.operands) {
            if (!o) continue;
            const Extent y = of(*o);
            x.depth = std::max(x.depth, y.depth + 1);
            x.size = std::min(x.size + y.size, kMaxValueSize + 1);
            x.namesBad = x.namesBad || y.namesBad;
        }
        if (e.ref.kind == ast::Ref::Let && e.ref.let && e.ref.let->value) {
            const Extent y = ofLet(*e.ref.let);
            x.depth = std::max(x.depth, y.depth);
            x.size = std::min(x.size + y.size, kMaxValueSize + 1);
            x.namesBad = x.namesBad || y.namesBad || y.over();
        }
        return x;
    }

  private:
    Extent ofLet(const ast::Let& l) {
        auto [it, fresh] = lets_.try_emplace(&l);
        // A value being worked out names itself: the checker has reported the cycle.
        if (!fresh) return it->second;
        const Extent x = of(*l.value);
        lets_[&l] = x;
        return x;
    }
    std::map<const ast::Let*, Extent> lets_;
};

} // namespace

void checkExpansion(SemaContext& ctx) {
    if (ctx.diags.errorCount() != 0) return;
    for (ast::Protocol* p : ctx.ordered) {
        if (p->builtin) continue;
        Expansion expansion;
        forEachExpression(*p, [&](const ast::Expr& e) {
            // Reported once: where the first value over a limit is defined.
            const Extent x = expansion.of(e);
            if (x.namesBad) return;
            if (x.depth > kMaxValueDepth)
                ctx.diags.report(DiagKind::ValuesTooDeep, e.range, x.depth, kMaxValueDepth);
            else if (x.size > kMaxValueSize)
                ctx.diags.report(DiagKind::ValuesTooLarge, e.range, kMaxValueSize);
        });
    }
}

} // namespace mmtc::sema
