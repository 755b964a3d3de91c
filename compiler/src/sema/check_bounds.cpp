// Pass check-bounds: every repetition has a bound, no length is provably negative,
// constants compared with a field fit in its width, no constant division by zero.
#include "sema/sema.h"

#include <algorithm>
#include <map>

namespace mmtc::sema {

namespace {

constexpr uint64_t kImplicitListBound = 1024; // a count that cannot exceed this needs no `max`

Int128 maxOfWidth(unsigned w) {
    return w >= 64 ? (Int128(1) << 64) - 1 : (Int128(1) << w) - 1;
}

std::string str(Int128 v) {
    if (v == 0) return "0";
    bool neg = v < 0;
    UInt128 u = neg ? (UInt128)(-v) : (UInt128)v;
    std::string s;
    while (u) {
        s.insert(s.begin(), char('0' + int(u % 10)));
        u /= 10;
    }
    return neg ? "-" + s : s;
}

} // namespace

namespace {

/// The intervals of the values an expression names, each worked out once (a chain of values
/// each naming the one before twice is linear, not exponential); a value met again while it
/// is worked out (one defined in terms of itself, reported by check-expressions) is unknown.
using LetIntervals = std::map<const ast::Let*, Interval>;

Interval intervalIn(const ast::Expr& e, LetIntervals& lets) {
    using K = ast::Expr::Kind;
    Interval r;
    auto known = [](Int128 lo, Int128 hi) {
        Interval i;
        i.known = true;
        i.lo = lo;
        i.hi = hi;
        return i;
    };
    switch (e.kind) {
    case K::Int:
        return known(e.intValue, e.intValue);
    case K::Name:
        if (e.ref.kind == ast::Ref::BitName) return known(0, 1);
        if (e.ref.kind == ast::Ref::Let && e.ref.let && e.ref.let->value) {
            auto [it, fresh] = lets.try_emplace(e.ref.let);
            if (!fresh) return it->second;
            const Interval i = intervalIn(*e.ref.let->value, lets);
            lets[e.ref.let] = i;
            return i;
        }
        if (e.type.isInt()) return known(0, maxOfWidth(e.type.width));
        return r;
    case K::Member:
    case K::Index:
        if (e.type.isInt()) return known(0, maxOfWidth(e.type.width));
        return r;
    case K::Call: {
        ast::BuiltinId id = e.builtin ? e.builtin->id : ast::BuiltinId::None;
        if (id == ast::BuiltinId::Min || id == ast::BuiltinId::Max) {
            Interval a = intervalIn(*e.operands[0], lets), b = intervalIn(*e.operands[1], lets);
            if (!a.known || !b.known) return r;
            if (id == ast::BuiltinId::Min) return known(std::min(a.lo, b.lo), std::min(a.hi, b.hi));
            return known(std::max(a.lo, b.lo), std::max(a.hi, b.hi));
        }
        if (e.type.isInt() && id != ast::BuiltinId::ToInt)
            return known(0, maxOfWidth(e.type.width));
        return r;
    }
    case K::Unary: {
        Interval a = intervalIn(*e.operands[0], lets);
        if (!a.known || e.text != "-") return r;
        return known(-a.hi, -a.lo);
    }
    case K::Cond: {
        Interval a = intervalIn(*e.operands[1], lets), b = intervalIn(*e.operands[2], lets);
        if (!a.known || !b.known) return r;
        return known(std::min(a.lo, b.lo), std::max(a.hi, b.hi));
    }
    case K::Binary: {
        if (!e.type.isInt()) return r;
        Interval a = intervalIn(*e.operands[0], lets), b = intervalIn(*e.operands[1], lets);
        if (!a.known || !b.known) return r;
        const std::string& op = e.text;
        const Int128 lim = Int128(1) << 80; // beyond this, give up rather than overflow
        auto sane = [&](Interval i) {
            if (i.lo < -lim || i.hi > lim) return Interval{};
            return i;
        };
        if (op == "+") return sane(known(a.lo + b.lo, a.hi + b.hi));
        if (op == "-") return sane(known(a.lo - b.hi, a.hi - b.lo));
        if (op == "*") {
            if (a.lo < -(Int128(1) << 64) || a.hi > (Int128(1) << 64) ||
                b.lo < -(Int128(1) << 64) || b.hi > (Int128(1) << 64))
                return r;
            Int128 c[4] = {a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi};
            return sane(known(*std::min_element(c, c + 4), *std::max_element(c, c + 4)));
        }
        if (op == "/" && a.lo >= 0 && b.lo > 0) return known(a.lo / b.hi, a.hi / b.lo);
        if (op == "%" && a.lo >= 0 && b.lo > 0) return known(0, std::min(a.hi, b.hi - 1));
        if (op == "&" && a.lo >= 0 && b.lo >= 0) return known(0, std::min(a.hi, b.hi));
        if (op == ">>" && a.lo >= 0 && b.lo >= 0 && b.lo < 64)
            return known(a.lo >> int(b.hi > 127 ? 127 : b.hi), a.hi >> int(b.lo));
        return r;
    }
    default:
        return r;
    }
}

class BoundsChecker {
  public:
    explicit BoundsChecker(SemaContext& ctx) : ctx_(ctx) {}

    void checkStructure(const ast::Record& rec) { checkItems(rec.items); }

    void checkLength(const ast::Expr& e, const std::string& what) {
        if (!e.type.isInt()) return;
        Interval i = intervalIn(e, lets_);
        if (i.known && i.hi < 0)
            ctx_.diags.report(DiagKind::NegativeLength, e.range, what, str(i.hi));
    }

    /// Walks an expression for constants that cannot fit the field they meet.
    void checkConstants(const ast::Expr& e) {
        using K = ast::Expr::Kind;
        for (const auto& o : e.operands) checkConstants(*o);
        if (e.kind == K::Binary) {
            const std::string& op = e.text;
            if (op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=") {
                fits(*e.operands[0], *e.operands[1]);
                fits(*e.operands[1], *e.operands[0]);
            }
            if ((op == "/" || op == "%") && e.operands[1]->kind == K::Int &&
                e.operands[1]->intValue == 0)
                ctx_.diags.report(DiagKind::DivisionByZero, e.operands[1]->range);
        } else if (e.kind == K::In) {
            for (const auto& cv : e.cases) caseFits(*e.operands[0], cv);
        }
    }

    /// `reportEmpty`: whether an empty range is this pass's to report (check-fields
    /// reports those of switch cases).
    void caseFits(const ast::Expr& subject, const ast::CaseValue& cv, bool reportEmpty = true) {
        if (cv.lo > cv.hi) {
            if (reportEmpty) ctx_.diags.report(DiagKind::EmptyRange, cv.range, cv.lo, cv.hi);
            return;
        }
        if (!subject.type.isInt() || subject.type.width >= 64) return;
        if (Int128(cv.hi) > maxOfWidth(subject.type.width)) reportFit(subject, cv.range, cv.hi);
    }

  private:
    void reportFit(const ast::Expr& subject, SourceRange where, uint64_t value) {
        std::string name =
            subject.kind == ast::Expr::Kind::Name || subject.kind == ast::Expr::Kind::Member
                ? "'" + (subject.kind == ast::Expr::Kind::Member ? subject.text : subject.text) +
                      "'"
                : "this value";
        ctx_.diags.report(DiagKind::ConstantDoesNotFit, where, name, subject.type.width, value);
    }

    void fits(const ast::Expr& subject, const ast::Expr& constant) {
        if (constant.kind != ast::Expr::Kind::Int) return;
        if (!subject.type.isInt() || subject.type.width >= 64) return;
        if (subject.kind == ast::Expr::Kind::Int) return;
        if (Int128(constant.intValue) > maxOfWidth(subject.type.width))
            reportFit(subject, constant.range, constant.intValue);
    }

    void checkItems(const std::vector<ast::FieldItem>& items) {
        for (const auto& it : items) {
            switch (it.kind) {
            case ast::FieldItem::Kind::Requires:
                checkConstants(*it.requires_);
                break;
            case ast::FieldItem::Kind::Switch:
                checkConstants(*it.sw->selector);
                if (it.sw->size) {
                    checkConstants(*it.sw->size);
                    checkLength(*it.sw->size, "the size of this switch");
                }
                for (const auto& arm : it.sw->arms) {
                    for (const auto& cv : arm.values) caseFits(*it.sw->selector, cv, false);
                    checkItems(arm.items);
                }
                break;
            case ast::FieldItem::Kind::Field:
                checkField(*it.field);
                break;
            }
        }
    }

    void checkField(const ast::Field& f) {
        for (const auto& r : f.requires_) checkConstants(*r);
        if (f.cond) checkConstants(*f.cond);
        if (f.until) checkConstants(*f.until);
        std::string label = f.anonymous() ? "this field" : "'" + f.name + "'";
        if (f.count) {
            checkConstants(*f.count);
            checkLength(*f.count, (f.isList ? "the count of " : "the length of ") + label);
        }
        if (f.size) {
            checkConstants(*f.size);
            checkLength(*f.size, "the size of " + label);
        }
        // A list with no extent at all was reported while the tree was built.
        if (!f.isList || f.max || f.extent == ast::Extent::Single) return;
        if (f.extent == ast::Extent::Count && f.count && f.count->type.isInt()) {
            Interval i = intervalIn(*f.count, lets_);
            if (i.known && i.hi <= Int128(kImplicitListBound)) return;
            ctx_.diags.report(DiagKind::UnboundedList, f.range, f.name,
                              i.known ? "its count can reach " + str(i.hi)
                                      : "its count is not bounded");
            return;
        }
        if (f.extent == ast::Extent::Count && f.count && f.count->type.isError()) return;
        ctx_.diags.report(DiagKind::UnboundedList, f.range, f.name,
                          "nothing bounds its number of elements");
    }

    SemaContext& ctx_;
    LetIntervals lets_; // of every value met, for all the lengths that name it
};

} // namespace

void checkBounds(SemaContext& ctx) {
    BoundsChecker bc(ctx);
    for (ast::Protocol* p : ctx.ordered) {
        if (p->builtin) continue;
        for (const ast::Record* r : structuresOf(*p)) bc.checkStructure(*r);
        auto len = [&](const std::optional<ast::LengthDef>& d, const char* what) {
            if (!d) return;
            bc.checkConstants(*d->value);
            bc.checkLength(*d->value, what);
        };
        len(p->headerLength, "'header_length'");
        len(p->payloadLength, "'payload_length'");
        len(p->pduLength, "'pdu_length'");
        if (p->pduBody) bc.checkConstants(*p->pduBody->value);
        for (const auto& l : p->lets) bc.checkConstants(*l->value);
        for (const auto& a : p->attributes) {
            if (a->value && !a->shorthand) bc.checkConstants(*a->value);
            if (a->cond) bc.checkConstants(*a->cond);
        }
        for (const auto& u : p->updates) {
            bc.checkConstants(*u.value);
            if (u.cond) bc.checkConstants(*u.cond);
        }
        for (const auto& c : p->classifies) {
            if (!c.expr) continue;
            bc.checkConstants(*c.expr);
            if (c.kind == ast::Classify::Kind::Value)
                for (const auto& cc : c.cases)
                    for (const auto& v : cc.values) bc.caseFits(*c.expr, v);
        }
        for (const auto& o : p->overs)
            if (o.when) bc.checkConstants(*o.when);
    }
}

} // namespace mmtc::sema
