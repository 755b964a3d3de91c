// Pass resolve-types: field types naming records are bound to them; a record that
// contains itself, directly or through other records, is rejected (its size would be
// unbounded).
#include "sema/sema.h"

#include <functional>

namespace mmtc::sema {

namespace {

bool looksLikeIntType(const std::string& n) {
    return n.size() >= 2 && n[0] == 'u' && std::isdigit(static_cast<unsigned char>(n[1]));
}

void resolveItems(SemaContext& ctx, ProtoSymbols& syms, std::vector<ast::FieldItem>& items) {
    for (auto& it : items) {
        if (it.kind == ast::FieldItem::Kind::Switch) {
            for (auto& arm : it.sw->arms) resolveItems(ctx, syms, arm.items);
            continue;
        }
        if (it.kind != ast::FieldItem::Kind::Field) continue;
        ast::TypeSpec& t = it.field->type;
        if (t.kind != ast::TypeSpec::Record) continue;
        auto r = syms.records.find(t.name);
        if (r != syms.records.end()) {
            t.record = r->second;
            continue;
        }
        t.kind = ast::TypeSpec::Unknown;
        if (looksLikeIntType(t.name))
            ctx.diags.report(DiagKind::BadIntType, t.range, t.name);
        else if (t.name == "string" || t.name == "bool")
            ctx.diags.report(DiagKind::NotAFieldType, t.range, t.name);
        else
            ctx.diags.report(DiagKind::UnknownType, t.range, t.name);
    }
}

/// Records nest at most this deep: every later pass recurses through them.
constexpr size_t kMaxRecordNesting = 64;

/// Depth-first search for record cycles; `path` holds the fields being expanded. A field
/// that would nest records deeper than the limit is reported and unbound, so that no
/// later pass follows it.
void findCycles(SemaContext& ctx, const ast::Record* rec, std::vector<const ast::Field*>& path,
                std::set<const ast::Record*>& onPath, std::set<const ast::Record*>& done,
                bool& reportedDeep) {
    if (done.count(rec)) return;
    onPath.insert(rec);
    forEachField(rec->items, [&](ast::Field& f, bool) {
        if (f.type.kind != ast::TypeSpec::Record || !f.type.record) return;
        const ast::Record* sub = f.type.record;
        if (path.size() + 1 >= kMaxRecordNesting) {
            if (!reportedDeep) // once per protocol: a long chain would give one per record
                ctx.diags.report(DiagKind::RecordTooDeep, f.type.range, kMaxRecordNesting);
            reportedDeep = true;
            f.type.record = nullptr;
            f.type.kind = ast::TypeSpec::Unknown;
            return;
        }
        if (onPath.count(sub)) {
            ctx.diags.report(DiagKind::RecursiveRecord, f.type.range, sub->name);
            for (auto it = path.rbegin(); it != path.rend(); ++it)
                ctx.diags.note(DiagKind::RecordContainsVia, (*it)->range,
                               (*it)->owner ? (*it)->owner->name : "?", (*it)->type.name);
            return;
        }
        path.push_back(&f);
        findCycles(ctx, sub, path, onPath, done, reportedDeep);
        path.pop_back();
    });
    onPath.erase(rec);
    done.insert(rec);
}

} // namespace

void resolveTypes(SemaContext& ctx) {
    for (ast::Protocol* p : ctx.ordered) {
        if (p->builtin) continue;
        ProtoSymbols& syms = ctx.symbols[p];
        if (p->header) resolveItems(ctx, syms, p->header->items);
        if (p->body) resolveItems(ctx, syms, p->body->items);
        for (auto& r : p->records) resolveItems(ctx, syms, r->items);
        std::set<const ast::Record*> done;
        bool reportedDeep = false;
        for (auto& r : p->records) {
            std::vector<const ast::Field*> path;
            std::set<const ast::Record*> onPath;
            findCycles(ctx, r.get(), path, onPath, done, reportedDeep);
        }
    }
}

} // namespace mmtc::sema
