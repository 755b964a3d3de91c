// Pass collect-protocols: the table of protocols by name and id across all files, and
// the built-in `frame` protocol every link layer runs over.
#include "sema/sema.h"

#include <map>

namespace mmtc::sema {

namespace {
constexpr uint64_t kMaxProtocolId = 0xFFFF;
}

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
