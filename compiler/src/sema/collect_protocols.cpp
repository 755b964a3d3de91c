// Pass collect-protocols: the table of protocols by name and id across all files, and
// the built-in `frame` protocol every link layer runs over.
#include "sema/sema.h"

#include <map>

namespace mmtc::sema {

namespace {
constexpr uint64_t kMaxProtocolId = 0xFFFF;

/// `classify by value (e) using T;` takes the cases of every `table T` of the module, in
/// file order, as if written in place: check-relations then checks them (unknown
/// protocols, a value named twice) and the code generator sees an ordinary classification.
void expandTables(SemaContext& ctx) {
    std::map<std::string, std::vector<const ast::Table*>> tables;
    for (auto& file : ctx.module.files)
        for (auto& t : file->tables) tables[t->name].push_back(t.get());
    for (ast::Protocol* p : ctx.ordered) {
        for (auto& c : p->classifies) {
            if (c.table.empty()) continue;
            auto it = tables.find(c.table);
            if (it == tables.end()) {
                ctx.diags.report(DiagKind::UnknownTable, c.tableRange, c.table);
                if (auto* best = closestTo(c.table, tables, [](const auto& t) { return t.first; }))
                    ctx.diags.note(DiagKind::DidYouMean, best->second.front()->nameRange,
                                   best->first);
                continue;
            }
            c.tableFound = true;
            for (const ast::Table* t : it->second)
                c.cases.insert(c.cases.end(), t->cases.begin(), t->cases.end());
        }
    }
}

} // namespace

void collectProtocols(SemaContext& ctx) {
    ctx.frame = std::make_unique<ast::Protocol>();
    ctx.frame->name = "frame";
    ctx.frame->id = 0;
    ctx.frame->builtin = true;
    ctx.protocols["frame"] = ctx.frame.get();
    ctx.ordered.push_back(ctx.frame.get());

    std::map<uint64_t, ast::Protocol*> byId;
    for (auto& file : ctx.module.files) {
        for (auto& p : file->protocols) {
            if (p->name == "frame") {
                ctx.diags.report(DiagKind::ReservedProtocolName, p->nameRange, p->name);
                continue;
            }
            auto [it, inserted] = ctx.protocols.emplace(p->name, p.get());
            if (!inserted) {
                ctx.diags.report(DiagKind::DuplicateProtocol, p->nameRange, p->name);
                ctx.diags.note(DiagKind::FirstDeclaredHere, it->second->nameRange, p->name);
                continue;
            }
            ctx.ordered.push_back(p.get());
            if (!p->id) {
                ctx.diags.report(DiagKind::MissingId, p->nameRange, p->name);
                continue;
            }
            if (*p->id == 0 || *p->id > kMaxProtocolId) {
                ctx.diags.report(DiagKind::ProtocolIdRange, p->idRange, *p->id);
                continue;
            }
            auto [jt, fresh] = byId.emplace(*p->id, p.get());
            if (!fresh) {
                ctx.diags.report(DiagKind::DuplicateProtocolId, p->idRange, *p->id, p->name,
                                 jt->second->name);
                ctx.diags.note(DiagKind::IdFirstUsedHere, jt->second->idRange, *p->id);
            }
        }
    }
    expandTables(ctx);
    // Who may run over whom, from both sides of the relation. Unknown names are left
    // for check-relations to report.
    auto link = [&](ast::Protocol* parent, ast::Protocol* child) {
        if (!parent || !child) return;
        ctx.parents[child].insert(parent);
        ctx.children[parent].insert(child);
    };
    for (ast::Protocol* p : ctx.ordered) {
        for (auto& o : p->overs) link(ctx.findProtocol(o.parent), p);
        for (auto& c : p->classifies) {
            if (c.kind == ast::Classify::Kind::When) link(p, ctx.findProtocol(c.target));
            for (auto& cc : c.cases) link(p, ctx.findProtocol(cc.target));
        }
    }
}

} // namespace mmtc::sema
