// Pass order-rules: gathers each protocol's classification rules (the `over` clauses of
// the protocols that run over it and its own `classify` clauses), fills in the default
// weights and sorts them into the order its classify function tries them: by weight,
// heaviest first; at equal weight value and `when` rules before port rules, then by the
// target's id, then in declaration order (protocols by id). Also lists the protocols by
// id, `frame` (id 0) first: the order of the library table the runtime indexes.
#include "sema/sema.h"

#include <algorithm>

namespace mmtc::sema {

namespace {
constexpr uint64_t kDefaultWeightValue = 100; // `over ... when`, `classify by value`, `when`
constexpr uint64_t kDefaultWeightPort = 10;   // port rules: the weakest evidence

struct Ranked {
    ClassRule rule;
    int kindOrder; // value and `when` rules before port rules at equal weight
    size_t order;  // declaration order
};
} // namespace

void orderRules(SemaContext& ctx) {
    std::vector<ast::Protocol*> protos = ctx.ordered;
    std::stable_sort(protos.begin(), protos.end(),
                     [](const ast::Protocol* a, const ast::Protocol* b) {
                         return a->id.value_or(0) < b->id.value_or(0);
                     });
    ctx.byId.assign(protos.begin(), protos.end());
    ctx.rules.clear();
    std::map<const ast::Protocol*, std::vector<Ranked>> lists;
    size_t order = 0;
    for (ast::Protocol* p : protos) {
        for (const auto& o : p->overs) {
            if (!o.parentProto) continue;
            ClassRule r;
            r.target = p;
            r.weight = o.weight.value_or(o.byPort ? kDefaultWeightPort : kDefaultWeightValue);
            r.when = o.when.get();
            r.byPort = o.byPort;
            r.quoted = o.quoted;
            r.cases = &o.ports;
            lists[o.parentProto].push_back({r, o.byPort ? 1 : 0, order++});
        }
        for (const auto& c : p->classifies) {
            bool port = c.kind == ast::Classify::Kind::Port;
            uint64_t w = c.weight.value_or(port ? kDefaultWeightPort : kDefaultWeightValue);
            if (c.kind == ast::Classify::Kind::When) {
                if (!c.targetProto) continue;
                ClassRule r;
                r.target = c.targetProto;
                r.weight = w;
                r.when = c.expr.get();
                lists[p].push_back({r, 0, order++});
                continue;
            }
            for (const auto& cc : c.cases) {
                if (!cc.targetProto) continue;
                ClassRule r;
                r.target = cc.targetProto;
                r.weight = w;
                r.value = port ? nullptr : c.expr.get();
                r.byPort = port;
                r.cases = &cc.values;
                lists[p].push_back({r, port ? 1 : 0, order++});
            }
        }
    }
    for (auto& [owner, list] : lists) {
        std::stable_sort(list.begin(), list.end(), [](const Ranked& a, const Ranked& b) {
            if (a.rule.weight != b.rule.weight) return a.rule.weight > b.rule.weight;
            if (a.kindOrder != b.kindOrder) return a.kindOrder < b.kindOrder;
            if (a.rule.target->id != b.rule.target->id)
                return a.rule.target->id < b.rule.target->id;
            return a.order < b.order;
        });
        std::vector<ClassRule>& out = ctx.rules[owner];
        for (const Ranked& r : list) out.push_back(r.rule);
    }
}

} // namespace mmtc::sema
