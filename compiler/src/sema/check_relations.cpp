// Pass check-relations: `over` parents and `classify` targets exist, port rules have
// ports to compare, weights and port numbers are in range, no value maps twice.
#include "sema/sema.h"

#include <map>

namespace mmtc::sema {

namespace {

constexpr uint64_t kMaxWeight = 1000000;

class RelationChecker {
  public:
    explicit RelationChecker(SemaContext& ctx) : ctx_(ctx) {}

    void run(ast::Protocol& p) {
        for (auto& o : p.overs) checkOver(p, o);
        repeatedOvers(p);
        for (auto& c : p.classifies) checkClassify(p, c);
    }

  private:
    static bool sameExpr(const ast::Expr& a, const ast::Expr& b) {
        if (a.kind != b.kind || a.text != b.text || a.intValue != b.intValue ||
            a.boolValue != b.boolValue || a.operands.size() != b.operands.size() ||
            a.cases.size() != b.cases.size())
            return false;
        for (size_t i = 0; i < a.cases.size(); ++i)
            if (a.cases[i].lo != b.cases[i].lo || a.cases[i].hi != b.cases[i].hi) return false;
        for (size_t i = 0; i < a.operands.size(); ++i)
            if (!sameExpr(*a.operands[i], *b.operands[i])) return false;
        return true;
    }

    /// Two `over` rules for one parent that say the same thing: the second would never
    /// change anything (it is usually a copy-paste that meant another parent or value).
    void repeatedOvers(const ast::Protocol& p) {
        std::map<std::string, std::map<uint64_t, const ast::CaseValue*>> ports; // by parent
        for (size_t j = 0; j < p.overs.size(); ++j) {
            const ast::Over& o = p.overs[j];
            if (!o.parentProto) continue;
            if (o.byPort) {
                auto& seen = ports[o.parent];
                for (const auto& v : o.ports) {
                    if (v.lo > v.hi || v.hi - v.lo > 65536) continue;
                    for (uint64_t x = v.lo;; ++x) {
                        auto [it, fresh] = seen.emplace(x, &v);
                        if (!fresh) {
                            ctx_.diags.report(DiagKind::DuplicateOverPort, v.range, x, o.parent);
                            ctx_.diags.note(DiagKind::PreviousCase, it->second->range, x);
                            break;
                        }
                        if (x == v.hi) break;
                    }
                }
                continue;
            }
            for (size_t i = 0; i < j; ++i) {
                const ast::Over& e = p.overs[i];
                if (e.byPort || e.parent != o.parent || !e.when || !o.when ||
                    !sameExpr(*e.when, *o.when))
                    continue;
                ctx_.diags.report(DiagKind::DuplicateOver, o.parentRange, o.parent);
                ctx_.diags.note(DiagKind::PreviousRule, e.parentRange);
                break;
            }
        }
    }

    ast::Protocol* target(const std::string& name, SourceRange r) {
        ast::Protocol* t = ctx_.findProtocol(name);
        if (!t) {
            ctx_.diags.report(DiagKind::UnknownProtocol, r, name);
            return nullptr;
        }
        if (t->builtin) {
            ctx_.diags.report(DiagKind::FrameNotTarget, r);
            return nullptr;
        }
        return t;
    }

    void weight(const std::optional<uint64_t>& w, SourceRange r) {
        if (w && *w > kMaxWeight) ctx_.diags.report(DiagKind::WeightRange, r, *w, kMaxWeight);
    }

    void checkOver(ast::Protocol& p, ast::Over& o) {
        weight(o.weight, o.weightRange);
        ast::Protocol* parent = ctx_.findProtocol(o.parent);
        if (!parent) {
            ctx_.diags.report(DiagKind::UnknownProtocol, o.parentRange, o.parent);
            return;
        }
        o.parentProto = parent;
        if (!o.byPort) return;
        if (!parent->ports) {
            ctx_.diags.report(DiagKind::PortRuleWithoutPorts, o.range, parent->name);
            if (!parent->builtin)
                ctx_.diags.note(DiagKind::DeclaredHere, parent->nameRange, parent->name);
            return;
        }
        portValues(o.ports, *parent);
    }

    void portValues(const std::vector<ast::CaseValue>& values, const ast::Protocol& owner) {
        unsigned w =
            owner.ports && owner.ports->src->type.isInt() ? owner.ports->src->type.width : 16;
        uint64_t maxPort = w >= 64 ? UINT64_MAX : (uint64_t(1) << w) - 1;
        for (const auto& v : values) {
            if (v.lo > v.hi)
                ctx_.diags.report(DiagKind::EmptyRange, v.range, v.lo, v.hi);
            else if (v.hi > maxPort)
                ctx_.diags.report(DiagKind::PortRange, v.range, v.hi, maxPort);
        }
    }

    void checkClassify(ast::Protocol& p, ast::Classify& c) {
        weight(c.weight, c.weightRange);
        if (c.kind == ast::Classify::Kind::When) {
            c.targetProto = target(c.target, c.targetRange);
            return;
        }
        if (c.kind == ast::Classify::Kind::Port && !p.ports) {
            ctx_.diags.report(DiagKind::PortRuleWithoutPorts, c.range, p.name);
            return;
        }
        // An unknown table is reported where it is named.
        if (c.cases.empty() && (c.table.empty() || c.tableFound))
            ctx_.diags.report(DiagKind::EmptyClassify, c.range);
        std::map<uint64_t, const ast::CaseValue*> seen;
        for (auto& cc : c.cases) {
            cc.targetProto = target(cc.target, cc.targetRange);
            if (c.kind == ast::Classify::Kind::Port) portValues(cc.values, p);
            for (const auto& v : cc.values) {
                if (v.lo <= v.hi) claimCase(ctx_.diags, seen, v);
            }
        }
    }

    SemaContext& ctx_;
};

} // namespace

void checkRelations(SemaContext& ctx) {
    RelationChecker rc(ctx);
    for (ast::Protocol* p : ctx.ordered)
        if (!p->builtin) rc.run(*p);
}

} // namespace mmtc::sema
