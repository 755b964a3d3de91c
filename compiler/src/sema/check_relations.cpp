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
        for (auto& c : p.classifies) checkClassify(p, c);
    }

private:
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
            if (!parent->builtin) ctx_.diags.note(DiagKind::DeclaredHere, parent->nameRange, parent->name);
            return;
        }
        portValues(o.ports, *parent);
    }

    void portValues(const std::vector<ast::CaseValue>& values, const ast::Protocol& owner) {
        unsigned w = owner.ports && owner.ports->src->type.isInt() ? owner.ports->src->type.width : 16;
        uint64_t maxPort = w >= 64 ? UINT64_MAX : (uint64_t(1) << w) - 1;
        for (const auto& v : values) {
            if (v.lo > v.hi) ctx_.diags.report(DiagKind::EmptyRange, v.range, v.lo, v.hi);
            else if (v.hi > maxPort) ctx_.diags.report(DiagKind::PortRange, v.range, v.hi, maxPort);
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
        if (c.cases.empty()) ctx_.diags.report(DiagKind::EmptyClassify, c.range);
        std::map<uint64_t, const ast::CaseValue*> seen;
        for (auto& cc : c.cases) {
            cc.targetProto = target(cc.target, cc.targetRange);
            if (c.kind == ast::Classify::Kind::Port) portValues(cc.values, p);
            for (const auto& v : cc.values) {
                if (v.lo > v.hi || v.hi - v.lo > 65536) continue;
                for (uint64_t x = v.lo;; ++x) {
                    auto [it, fresh] = seen.emplace(x, &v);
                    if (!fresh) {
                        ctx_.diags.report(DiagKind::DuplicateCase, v.range, x);
                        ctx_.diags.note(DiagKind::PreviousCase, it->second->range, x);
                        break;
                    }
                    if (x == v.hi) break;
                }
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
