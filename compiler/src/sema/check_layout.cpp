// Pass check-layout: integer widths, and bit fields. Integer fields that are not whole
// bytes, or that start inside a byte, are bit fields: consecutive ones pack MSB-first in
// wire order (as RFC diagrams draw them) and each group must fill whole bytes, at most 64
// bits. Everything else starts on a byte boundary.
#include "sema/sema.h"

namespace mmtc::sema {

namespace {

class LayoutChecker {
  public:
    explicit LayoutChecker(SemaContext& ctx) : ctx_(ctx) {}

    void checkList(std::vector<ast::FieldItem>& items) {
        Group g;
        for (auto& it : items) {
            if (it.kind == ast::FieldItem::Kind::Requires) continue;
            if (it.kind == ast::FieldItem::Kind::Switch) {
                closeGroup(g, it.range);
                for (auto& arm : it.sw->arms) checkList(arm.items);
                continue;
            }
            ast::Field& f = *it.field;
            checkField(f);
            bool isInt = f.type.kind == ast::TypeSpec::Int && !f.isList && validWidth(f.type.width);
            bool bitField = isInt && (g.bits % 8 != 0 || f.type.width % 8 != 0);
            if (!bitField) {
                closeGroup(g, f.range);
                continue;
            }
            if (f.cond) {
                ctx_.diags.report(DiagKind::ConditionalBitField, f.cond->range, f.name);
            }
            if (f.type.order) {
                ctx_.diags.report(DiagKind::BitFieldByteOrder, f.type.range, f.name, f.type.width);
            }
            if (g.fields.empty()) g.first = &f;
            g.fields.push_back(&f);
            f.isBitField = true;
            f.bitOffset = g.bits;
            g.bits += f.type.width;
            if (g.bits % 8 == 0) finishGroup(g);
        }
        closeGroup(g, SourceRange{});
    }

  private:
    struct Group {
        const ast::Field* first = nullptr;
        std::vector<ast::Field*> fields;
        unsigned bits = 0;
    };

    static bool validWidth(unsigned w) { return w >= 1 && w <= 64; }

    void checkField(ast::Field& f) {
        if (f.type.kind == ast::TypeSpec::Int) {
            if (!validWidth(f.type.width)) {
                ctx_.diags.report(DiagKind::IntWidthRange, f.type.range, f.type.width);
            } else if (f.isList && f.type.width % 8 != 0) {
                ctx_.diags.report(DiagKind::ListOfBits, f.type.range, f.type.name);
            }
        }
        if (!f.bitNames.empty()) {
            if (f.type.kind != ast::TypeSpec::Int || f.isList) {
                ctx_.diags.report(DiagKind::BitNamesNotInt, f.bitNames.front().range, f.name);
            } else if (validWidth(f.type.width) && f.bitNames.size() > f.type.width) {
                ctx_.diags.report(DiagKind::TooManyBitNames, f.bitNames[f.type.width].range, f.name,
                                  f.type.width, f.bitNames.size());
            }
        }
    }

    void finishGroup(Group& g) {
        if (g.bits > 64) {
            SourceRange r = g.first->range;
            r.end = g.fields.back()->range.end;
            ctx_.diags.report(DiagKind::BitGroupTooWide, r, g.first->name, g.fields.back()->name,
                              g.bits);
        }
        for (ast::Field* f : g.fields) f->groupBits = g.bits;
        g = Group{};
    }

    void closeGroup(Group& g, SourceRange next) {
        if (g.fields.empty()) return;
        if (g.bits % 8 != 0) {
            SourceRange r = g.first->range;
            r.end = g.fields.back()->range.end;
            std::string which = g.fields.size() == 1 ? "bit field '" + g.first->name + "' takes"
                                                     : "bit fields '" + g.first->name + "' to '" +
                                                           g.fields.back()->name + "' take";
            unsigned shortBy = 8 - g.bits % 8;
            ctx_.diags.report(DiagKind::BitGroupNotWhole, r, which, g.bits,
                              std::to_string(shortBy) + (shortBy == 1 ? " bit" : " bits"));
            if (next.valid()) ctx_.diags.note(DiagKind::BitGroupEndsHere, next);
            for (ast::Field* f : g.fields) f->groupBits = (g.bits + 7) / 8 * 8;
            g = Group{};
            return;
        }
        finishGroup(g);
    }

    SemaContext& ctx_;
};

} // namespace

void checkLayout(SemaContext& ctx) {
    LayoutChecker lc(ctx);
    for (ast::Protocol* p : ctx.ordered) {
        if (p->builtin) continue;
        if (p->header) lc.checkList(p->header->items);
        if (p->body) lc.checkList(p->body->items);
        for (auto& r : p->records) lc.checkList(r->items);
    }
}

} // namespace mmtc::sema
