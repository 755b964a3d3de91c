// AST dump: one node per line, indented by depth, with line:col of each node.
#include "ast/dump.h"

#include <fmt/format.h>

namespace mmtc::ast {

namespace {

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\')
            out += fmt::format("\\{}", char(c));
        else if (c == '\r')
            out += "\\r";
        else if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (c < 0x20 || c >= 0x7f)
            out += fmt::format("\\x{:02x}", c);
        else
            out += char(c);
    }
    return out + "\"";
}

std::string cases(const std::vector<CaseValue>& vs) {
    std::string out;
    for (const auto& v : vs) {
        if (!out.empty()) out += ", ";
        out += v.lo == v.hi ? fmt::format("{}", v.lo) : fmt::format("{}..{}", v.lo, v.hi);
    }
    return out;
}

class Dumper {
  public:
    explicit Dumper(const SourceManager& sm) : sm_(sm) {}
    std::string out;

    void module(const Module& m, size_t files) {
        for (const auto& f : m.files) {
            if (files-- == 0) break;
            line(0, fmt::format("File {}", quote(sm_.file(f->fileId).path())), {});
            for (const auto& p : f->protocols) protocol(*p, 1);
            for (const auto& t : f->tables) {
                line(1, fmt::format("Table {}", t->name), t->range);
                for (const auto& cc : t->cases)
                    line(2, fmt::format("{} => {}", cases(cc.values), cc.target), cc.range);
            }
            for (const auto& s : f->services) {
                line(1, fmt::format("Service {}", s->name), s->range);
                for (const auto& n : s->names)
                    line(2, fmt::format("name {}", quote(n.text)), n.range);
                for (const auto& n : s->prefixes)
                    line(2, fmt::format("prefix {}", quote(n.text)), n.range);
            }
        }
    }

  private:
    void line(int depth, const std::string& text, SourceRange r) {
        out.append(size_t(depth) * 2, ' ');
        out += text;
        if (r.valid()) out += fmt::format(" <{}:{}>", r.begin.line, r.begin.col);
        out += '\n';
    }

    void protocol(const Protocol& p, int d) {
        line(d,
             fmt::format("Protocol {} id={}{}", p.name, p.id ? std::to_string(*p.id) : "?",
                         p.byteOrder == ByteOrder::Little ? " byteorder=little" : ""),
             p.range);
        for (const auto& o : p.overs) {
            std::string w = o.weight ? fmt::format(" weight={}", *o.weight) : "";
            if (o.byPort)
                line(d + 1, fmt::format("Over {} port {}{}", o.parent, cases(o.ports), w), o.range);
            else
                line(d + 1, fmt::format("Over {} when {}{}", o.parent, dumpExpr(*o.when), w),
                     o.range);
        }
        if (p.ports)
            line(d + 1,
                 fmt::format("Ports {} {}", dumpExpr(*p.ports->src), dumpExpr(*p.ports->dst)),
                 p.ports->range);
        if (p.header) record("Header", *p.header, d + 1);
        if (p.body) record("Body", *p.body, d + 1);
        for (const auto& r : p.records) record("Record " + r->name, *r, d + 1);
        for (const auto& l : p.lets)
            line(d + 1,
                 fmt::format("Let {}{} = {}", l->name, l->declType ? " : " + l->declType->name : "",
                             dumpExpr(*l->value)),
                 l->range);
        auto len = [&](const char* n, const std::optional<LengthDef>& x) {
            if (x) line(d + 1, fmt::format("{} = {}", n, dumpExpr(*x->value)), x->range);
        };
        len("HeaderLength", p.headerLength);
        len("PayloadLength", p.payloadLength);
        len("PduLength", p.pduLength);
        if (p.pduUntil)
            line(d + 1, fmt::format("PduUntil {}", quote(*p.pduUntil)), p.pduUntilRange);
        if (p.maxPdu) line(d + 1, fmt::format("MaxPdu {}", *p.maxPdu), p.maxPduRange);
        for (const auto& a : p.attributes) {
            std::string s = fmt::format("{}Attribute {}", a->isEvent ? "Event" : "", a->name);
            if (a->declType) s += " : " + a->declType->name + (a->hex ? " hex" : "");
            if (a->shorthand) s += " (field)";
            if (a->value && !a->shorthand) s += " = " + dumpExpr(*a->value);
            if (a->on) s += " on " + dumpExpr(*a->on);
            if (a->cond) s += " if " + dumpExpr(*a->cond);
            line(d + 1, s, a->range);
        }
        if (p.key) line(d + 1, "Key " + keyParts(*p.key), p.key->range);
        if (p.session)
            line(d + 1,
                 fmt::format("Session{} timeout={}ms",
                             p.session->key ? " " + keyParts(*p.session->key) : "",
                             p.session->timeoutMs),
                 p.session->range);
        for (const auto& v : p.state)
            line(d + 1,
                 fmt::format("State {} : {}{}", v->name, v->typeName.name,
                             v->init ? " = " + dumpExpr(*v->init) : ""),
                 v->range);
        for (const auto& u : p.updates)
            line(d + 1,
                 fmt::format("Update {} = {}{}", u.name, dumpExpr(*u.value),
                             u.cond ? " if " + dumpExpr(*u.cond) : ""),
                 u.range);
        for (const auto& c : p.classifies) {
            std::string w = c.weight ? fmt::format(" weight={}", *c.weight) : "";
            if (c.kind == Classify::Kind::When) {
                line(d + 1, fmt::format("Classify when {} => {}{}", dumpExpr(*c.expr), c.target, w),
                     c.range);
                continue;
            }
            line(d + 1,
                 c.kind == Classify::Kind::Value
                     ? fmt::format("Classify by value {}{}{}", dumpExpr(*c.expr),
                                   c.table.empty() ? "" : " using " + c.table, w)
                     : fmt::format("Classify by port{}", w),
                 c.range);
            for (const auto& cc : c.cases)
                line(d + 2, fmt::format("{} => {}", cases(cc.values), cc.target), cc.range);
        }
        auto block = [&](const char* n, const std::optional<Block>& b) {
            if (!b) return;
            line(d + 1, n, b->range);
            for (const auto& a : b->entries)
                line(d + 2, fmt::format("{} = {}", a.name, dumpExpr(*a.value)), a.range);
        };
        block("Stream", p.stream);
        block("Fragment", p.fragment);
    }

    std::string keyParts(const KeyParts& k) {
        auto list = [](const std::vector<ExprPtr>& v) {
            std::string s = "(";
            for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + dumpExpr(*v[i]);
            return s + ")";
        };
        return k.bidirectional ? list(k.a) + " <-> " + list(k.b) : list(k.a);
    }

    void record(const std::string& title, const Record& r, int d) {
        line(d, title, r.range);
        items(r.items, d + 1);
    }

    void items(const std::vector<FieldItem>& list, int d) {
        for (const auto& it : list) {
            if (it.kind == FieldItem::Kind::Requires) {
                line(d, "Requires " + dumpExpr(*it.requires_), it.range);
            } else if (it.kind == FieldItem::Kind::Switch) {
                line(d,
                     "Switch " + dumpExpr(*it.sw->selector) +
                         (it.sw->size ? " size " + dumpExpr(*it.sw->size) : ""),
                     it.range);
                for (const auto& arm : it.sw->arms) {
                    line(d + 1, arm.isDefault ? "Default" : "Case " + cases(arm.values), arm.range);
                    items(arm.items, d + 2);
                }
            } else {
                field(*it.field, d);
            }
        }
    }

    void field(const Field& f, int d) {
        std::string s = fmt::format("Field {} : {}", f.name, f.type.name);
        if (f.type.kind == TypeSpec::Int && f.type.order)
            s += *f.type.order == ByteOrder::Little ? " (little)" : " (big)";
        if (f.isList) s += "[]";
        switch (f.extent) {
        case Extent::Single:
            break;
        case Extent::Rest:
            s += " rest";
            break;
        case Extent::Count:
            s += " count " + dumpExpr(*f.count);
            break;
        case Extent::Size:
            s += " filling size";
            break;
        case Extent::UntilString:
            s += " until " + quote(f.terminator);
            break;
        case Extent::UntilExpr:
            s += " until (" + dumpExpr(*f.until) + ")";
            break;
        }
        if (f.size) s += " size " + dumpExpr(*f.size);
        if (f.max) s += fmt::format(" max {}", *f.max);
        if (f.cond) s += " if " + dumpExpr(*f.cond);
        for (const auto& r : f.requires_) s += " requires " + dumpExpr(*r);
        if (!f.bitNames.empty()) {
            s += " {";
            for (size_t i = 0; i < f.bitNames.size(); ++i)
                s += (i ? ", " : " ") + f.bitNames[i].name;
            s += " }";
        }
        line(d, s, f.range);
    }

    const SourceManager& sm_;
};

} // namespace

std::string dumpExpr(const Expr& e) {
    using K = Expr::Kind;
    switch (e.kind) {
    case K::Int:
        return std::to_string(e.intValue);
    case K::Bool:
        return e.boolValue ? "true" : "false";
    case K::String:
        return quote(e.text);
    case K::Name:
        return e.text;
    case K::Member:
        return dumpExpr(*e.operands[0]) + "." + e.text;
    case K::Index:
        return dumpExpr(*e.operands[0]) + "[" + dumpExpr(*e.operands[1]) + "]";
    case K::Call: {
        std::string s = e.text + "(";
        for (size_t i = 0; i < e.operands.size(); ++i)
            s += (i ? ", " : "") + dumpExpr(*e.operands[i]);
        return s + ")";
    }
    case K::Unary:
        return "(" + e.text + dumpExpr(*e.operands[0]) + ")";
    case K::Not:
        return "(not " + dumpExpr(*e.operands[0]) + ")";
    case K::In:
        return "(" + dumpExpr(*e.operands[0]) + " in {" + cases(e.cases) + "})";
    case K::Cond:
        return "(" + dumpExpr(*e.operands[0]) + " ? " + dumpExpr(*e.operands[1]) + " : " +
               dumpExpr(*e.operands[2]) + ")";
    case K::Binary:
        return "(" + dumpExpr(*e.operands[0]) + " " + e.text + " " + dumpExpr(*e.operands[1]) + ")";
    }
    return "?";
}

std::string dump(const Module& m, const SourceManager& sm, size_t files) {
    Dumper d(sm);
    d.module(m, files);
    return d.out;
}

} // namespace mmtc::ast
