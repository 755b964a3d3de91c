// Pass check-expressions: resolves every name and types every expression, in the
// scope where it is evaluated (a record, the protocol, the parent protocol for `over`),
// and checks that fields used by lengths and conditions are parsed before the use.
#include "sema/expr_checker.h"

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace mmtc::sema {

namespace {

bool isStringLiteral(const ast::Expr& e) {
    return e.kind == ast::Expr::Kind::String;
}

} // namespace

ExprChecker::ExprChecker(SemaContext& ctx) : ctx_(ctx) {}

ast::Type ExprChecker::fieldType(const ast::Field& f) {
    ast::Type t;
    switch (f.type.kind) {
    case ast::TypeSpec::Int:
    case ast::TypeSpec::Varint:
        t = ast::Type::integer(f.type.width >= 1 && f.type.width <= 64 ? f.type.width : 64);
        break;
    case ast::TypeSpec::Mac:
        t = ast::Type::of(ast::Type::Mac);
        break;
    case ast::TypeSpec::Ipv4:
        t = ast::Type::of(ast::Type::Ipv4);
        break;
    case ast::TypeSpec::Ipv6:
        t = ast::Type::of(ast::Type::Ipv6);
        break;
    case ast::TypeSpec::Bytes:
        return ast::Type::of(ast::Type::Bytes);
    case ast::TypeSpec::Record:
        if (!f.type.record) return ast::Type::error();
        t.kind = ast::Type::Record;
        t.record = f.type.record;
        break;
    case ast::TypeSpec::Unknown:
        return ast::Type::error();
    }
    if (!f.isList) return t;
    ast::Type l;
    l.kind = ast::Type::List;
    l.elem = t.kind;
    l.elemWidth = t.kind == ast::Type::Int ? t.width : 0;
    l.record = t.record;
    return l;
}

ast::Type ExprChecker::elementType(const ast::Type& list) {
    ast::Type e;
    e.kind = list.elem;
    e.width = list.elem == ast::Type::Int ? list.elemWidth : 64;
    e.record = list.record;
    return e;
}

/// The protocol that declares a record: the one being checked, or another whose record
/// `parse` named.
static const ast::Protocol* ownerOf(const ast::Record* rec, const Env& env) {
    return rec && rec->protocol ? rec->protocol : env.proto;
}

const Symbol* ExprChecker::lookup(const Env& env, const std::string& name, bool& fromRecord) {
    fromRecord = false;
    if (env.element) {
        auto& scope = ctx_.symbols[ownerOf(env.element, env)].recordScopes[env.element];
        auto it = scope.find(name);
        if (it != scope.end()) {
            fromRecord = true;
            return &it->second;
        }
    }
    if (env.record) {
        auto& scope = ctx_.symbols[env.proto].recordScopes[env.record];
        auto it = scope.find(name);
        if (it != scope.end()) {
            fromRecord = true;
            return &it->second;
        }
        return nullptr; // records see only their own fields
    }
    auto& names = ctx_.symbols[env.proto].names;
    auto it = names.find(name);
    return it == names.end() ? nullptr : &it->second;
}

void ExprChecker::suggest(const Env& env, const std::string& name) {
    std::string best;
    unsigned bestD = 3;
    auto consider = [&](const std::map<std::string, Symbol>& scope) {
        for (const auto& [n, s] : scope) {
            unsigned d = editDistance(name, n);
            if (d < bestD) {
                bestD = d;
                best = n;
            }
        }
    };
    auto& syms = ctx_.symbols[env.proto];
    if (env.element) consider(syms.recordScopes[env.element]);
    if (env.record)
        consider(syms.recordScopes[env.record]);
    else
        consider(syms.names);
    if (!best.empty() && best.size() > 1) {
        bool dummy;
        const Symbol* s = lookup(env, best, dummy);
        if (s) ctx_.diags.note(DiagKind::DidYouMean, s->declRange, best);
    }
}

ast::Type ExprChecker::checkName(ast::Expr& e, const Env& env) {
    const std::string& n = e.text;
    bool fromRecord = false;
    const Symbol* s = lookup(env, n, fromRecord);
    if (!s) {
        if (n == "payload" && env.allowPayload) {
            e.ref.kind = ast::Ref::Payload;
            return ast::Type::of(ast::Type::Bytes);
        }
        if (n == "payload") {
            ctx_.diags.report(DiagKind::NotAllowedHere, e.range, "'payload'", env.what);
            return ast::Type::error();
        }
        if (n == "direction") {
            if (!env.allowDirection) {
                ctx_.diags.report(DiagKind::NotAllowedHere, e.range, "'direction'", env.what);
                return ast::Type::error();
            }
            e.ref.kind = ast::Ref::Builtin;
            e.ref.builtin = "direction";
            return ast::Type::integer(1);
        }
        if (n == "remaining") {
            // Bytes left in the region being parsed, where the field starts.
            if (!env.fieldLevel || env.noRemaining) {
                ctx_.diags.report(DiagKind::NotAllowedHere, e.range, "'remaining'", env.what);
                return ast::Type::error();
            }
            e.ref.kind = ast::Ref::Builtin;
            e.ref.builtin = "remaining";
            return ast::Type::integer(32);
        }
        if (n == "message") {
            // The protocol's own bytes, from its first header byte to the end of its data.
            if (env.fieldLevel) {
                ctx_.diags.report(DiagKind::NotAllowedHere, e.range, "'message'", env.what);
                return ast::Type::error();
            }
            e.ref.kind = ast::Ref::Builtin;
            e.ref.builtin = "message";
            return ast::Type::of(ast::Type::Bytes);
        }
        if (n == "linktype" && env.proto->builtin) {
            e.ref.kind = ast::Ref::Builtin;
            e.ref.builtin = "linktype";
            return ast::Type::integer(32);
        }
        if (n == "parent") {
            ctx_.diags.report(DiagKind::ParentAlone, e.range);
            return ast::Type::error();
        }
        ctx_.diags.report(DiagKind::UndeclaredName, e.range, n);
        if (env.record) {
            auto& names = ctx_.symbols[env.proto].names;
            auto it = names.find(n);
            if (it != names.end())
                ctx_.diags.note(DiagKind::RecordScopeNote, it->second.declRange, env.record->name,
                                n);
            else
                suggest(env, n);
        } else {
            suggest(env, n);
        }
        return ast::Type::error();
    }
    switch (s->kind) {
    case Symbol::Field:
    case Symbol::BitName: {
        const ast::Field* f = s->field;
        if (env.orderStructure) checkOrder(e, env, *f);
        if (s->kind == Symbol::BitName) {
            e.ref.kind = ast::Ref::BitName;
            e.ref.field = f;
            e.ref.bit = s->bit;
            return ast::Type::of(ast::Type::Bool);
        }
        e.ref.kind = ast::Ref::Field;
        e.ref.field = f;
        return fieldType(*f);
    }
    case Symbol::Let: {
        e.ref.kind = ast::Ref::Let;
        e.ref.let = s->let;
        use_ = e.range;
        ast::Type t = checkLet(*const_cast<ast::Let*>(s->let), env.proto);
        if (!t.isError() && env.fieldLevel) checkLetInFieldContext(e, env, *s->let);
        return t;
    }
    case Symbol::Attribute: {
        if (env.fieldLevel) {
            ctx_.diags.report(DiagKind::NotAllowedHere, e.range, "attribute '" + n + "'", env.what);
            return ast::Type::error();
        }
        e.ref.kind = ast::Ref::Attribute;
        e.ref.attribute = s->attribute;
        use_ = e.range;
        return checkAttribute(*const_cast<ast::Attribute*>(s->attribute), env.proto);
    }
    case Symbol::State: {
        if (!env.allowState) {
            ctx_.diags.report(DiagKind::NotAllowedHere, e.range, "state variable '" + n + "'",
                              env.what);
            return ast::Type::error();
        }
        e.ref.kind = ast::Ref::State;
        e.ref.state = s->state;
        return s->state->type;
    }
    }
    return ast::Type::error();
}

void ExprChecker::checkOrder(const ast::Expr& e, const Env& env, const ast::Field& f) {
    auto& fields = ctx_.symbols[env.proto].fields;
    auto it = fields.find(&f);
    if (it == fields.end() || it->second.structure != env.orderStructure) return;
    if (&f == env.self) return;
    if (it->second.seq >= env.limit) {
        ctx_.diags.report(DiagKind::FieldUsedBeforeParsed, e.range, f.name, env.what);
        ctx_.diags.note(DiagKind::DeclaredHere, f.nameRange, f.name);
    }
}

void ExprChecker::collectDeps(const ast::Expr& e, LetDeps& d, std::set<const ast::Let*>& seen) {
    switch (e.ref.kind) {
    case ast::Ref::Field:
    case ast::Ref::BitName:
        d.fields.push_back(e.ref.field);
        break;
    case ast::Ref::Let:
        if (seen.insert(e.ref.let).second && e.ref.let->value)
            collectDeps(*e.ref.let->value, d, seen);
        break;
    case ast::Ref::Payload:
        d.payload = true;
        break;
    case ast::Ref::State:
        d.state = true;
        break;
    case ast::Ref::Attribute:
        d.attribute = true;
        break;
    case ast::Ref::ProtoAttr:
    case ast::Ref::Parent:
        d.parent = true;
        break;
    default:
        break;
    }
    for (const auto& o : e.operands) collectDeps(*o, d, seen);
}

void ExprChecker::checkLetInFieldContext(const ast::Expr& use, const Env& env,
                                         const ast::Let& let) {
    LetDeps d;
    std::set<const ast::Let*> seen;
    collectDeps(*let.value, d, seen);
    if (d.payload || d.attribute || (d.state && !env.allowState) ||
        (d.parent && (env.record || env.noRemaining))) {
        ctx_.diags.report(DiagKind::LetNotFieldLevel, use.range, let.name, env.what);
        ctx_.diags.note(DiagKind::DeclaredHere, let.nameRange, let.name);
        return;
    }
    if (!env.orderStructure) return;
    auto& fields = ctx_.symbols[env.proto].fields;
    for (const ast::Field* f : d.fields) {
        auto it = fields.find(f);
        if (it == fields.end() || it->second.structure != env.orderStructure || f == env.self)
            continue;
        if (it->second.seq >= env.limit) {
            ctx_.diags.report(DiagKind::LetUsesLaterField, use.range, let.name, f->name, env.what);
            ctx_.diags.note(DiagKind::DeclaredHere, f->nameRange, f->name);
            return;
        }
    }
}

void ExprChecker::enter(const void* node, const std::string& name) {
    pending_.push_back(Pending{node, name, use_});
    use_ = SourceRange{};
}

void ExprChecker::reportCycle(const void* node, const char* what, const std::string& name,
                              SourceRange at) {
    SourceRange closing = use_;
    use_ = SourceRange{};
    ctx_.diags.report(DiagKind::CyclicDefinition, at, what, name);
    size_t i = 0;
    while (i < pending_.size() && pending_[i].node != node) ++i;
    // A definition that names itself needs no notes; a longer cycle is shown step by step.
    if (i + 1 >= pending_.size()) return;
    for (size_t j = i + 1; j < pending_.size(); ++j)
        if (pending_[j].use.valid())
            ctx_.diags.note(DiagKind::CycleStep, pending_[j].use, pending_[j - 1].name,
                            pending_[j].name);
    if (closing.valid()) ctx_.diags.note(DiagKind::CycleStep, closing, pending_.back().name, name);
}

ast::Type ExprChecker::checkLet(ast::Let& l, ast::Protocol* proto) {
    Visit& v = ctx_.letVisit[&l];
    if (v == Visit::Done) {
        use_ = SourceRange{};
        return l.type;
    }
    if (v == Visit::InProgress) {
        reportCycle(&l, "value", l.name, l.nameRange);
        l.type = ast::Type::error();
        return l.type;
    }
    v = Visit::InProgress;
    enter(&l, l.name);
    Env env;
    env.proto = proto;
    env.allowPayload = true;
    env.what = "a computed value";
    ast::Type t = check(*l.value, env);
    if (l.declType && !t.isError()) {
        ast::Type d = typeFromName(l.declType->name);
        if (d.isError()) {
            ctx_.diags.report(DiagKind::UnknownValueType, l.declType->range, l.declType->name);
        } else if (!assignable(d, t)) {
            ctx_.diags.report(DiagKind::TypeMismatch, l.value->range, typeName(t), typeName(d),
                              "value '" + l.name + "'");
        } else {
            t = d;
        }
    }
    l.type = t;
    ctx_.letVisit[&l] = Visit::Done;
    leave();
    return t;
}

ast::Type ExprChecker::checkAttribute(ast::Attribute& a, ast::Protocol* proto) {
    Visit& v = ctx_.attrVisit[&a];
    if (v == Visit::Done) {
        use_ = SourceRange{};
        return a.type;
    }
    if (v == Visit::InProgress) {
        reportCycle(&a, "attribute", a.name, a.nameRange);
        a.type = ast::Type::error();
        return a.type;
    }
    v = Visit::InProgress;
    enter(&a, a.name);
    ast::Type t = typeAttribute(a, proto);
    a.type = t;
    ctx_.attrVisit[&a] = Visit::Done;
    leave();
    return t;
}

ast::Type ExprChecker::typeAttribute(ast::Attribute& a, ast::Protocol* proto) {
    Env env;
    env.proto = proto;
    env.allowPayload = true;
    env.allowState = true;
    env.what = "an attribute";
    if (a.shorthand) {
        auto& names = ctx_.symbols[proto].names;
        auto it = names.find(a.name);
        if (it == names.end() || it->second.kind == Symbol::Attribute) {
            ctx_.diags.report(DiagKind::ShorthandUnknown, a.nameRange, a.name, a.name);
            return ast::Type::error();
        }
        // Without its own doc comment, a shorthand is described as its field or value is.
        if (a.doc.empty() && it->second.kind == Symbol::Field && it->second.field)
            a.doc = it->second.field->doc;
        if (a.doc.empty() && it->second.kind == Symbol::Let && it->second.let)
            a.doc = it->second.let->doc;
        // Give the shorthand a value expression so later phases treat every attribute alike.
        a.value = std::make_unique<ast::Expr>(ast::Expr::Kind::Name, a.nameRange);
        a.value->text = a.name;
        a.value->nameRange = a.nameRange;
        ast::Type t = check(*a.value, env);
        a.value->type = t;
        return t;
    }
    ast::Type elemList;
    Env valueEnv = env;
    if (a.on) {
        ast::Type lt = check(*a.on, env);
        if (lt.isError()) return ast::Type::error();
        if (lt.kind != ast::Type::List) {
            ctx_.diags.report(DiagKind::OnNeedsList, a.on->range, typeName(lt));
            return ast::Type::error();
        }
        elemList = lt;
        if (lt.elem == ast::Type::Record) valueEnv.element = lt.record;
    }
    ast::Type t;
    if (a.value) {
        t = check(*a.value, valueEnv);
    } else if (a.on) {
        t = elementType(elemList);
        if (t.kind == ast::Type::Record) {
            ctx_.diags.report(DiagKind::EventNeedsValue, a.on->range, a.name,
                              t.record ? t.record->name : "?");
            t = ast::Type::error();
        }
    } else {
        ctx_.diags.report(DiagKind::AttributeNeedsValue, a.nameRange, a.name);
        t = ast::Type::error();
    }
    if (a.cond) {
        ast::Type c = check(*a.cond, valueEnv);
        if (!c.isError() && c.kind != ast::Type::Bool)
            ctx_.diags.report(DiagKind::ConditionNotBool, a.cond->range, typeName(c));
    }
    if (t.isError()) return t;
    if (a.declType) {
        ast::Type d = typeFromName(a.declType->name);
        if (d.isError()) {
            ctx_.diags.report(DiagKind::UnknownValueType, a.declType->range, a.declType->name);
            return ast::Type::error();
        }
        if (!assignable(d, t)) {
            ctx_.diags.report(DiagKind::TypeMismatch, a.value ? a.value->range : a.nameRange,
                              typeName(t), typeName(d), "attribute '" + a.name + "'");
            return ast::Type::error();
        }
        return d;
    }
    return t;
}

bool ExprChecker::assignable(const ast::Type& to, const ast::Type& from) {
    if (to.kind == ast::Type::Int && from.kind == ast::Type::Int) return true;
    if (to.kind == ast::Type::String && from.isBytesLike()) return true;
    if (to.kind == ast::Type::Bytes && from.isBytesLike()) return true;
    return to.kind == from.kind && to.kind != ast::Type::Record && to.kind != ast::Type::List;
}

ast::Type ExprChecker::check(ast::Expr& e, const Env& env) {
    ast::Type t = checkInner(e, env);
    e.type = t;
    return t;
}

ast::Type ExprChecker::expectInt(ast::Expr& e, const Env& env, const char* role) {
    ast::Type t = check(e, env);
    if (t.isError() || t.isInt()) return t;
    ctx_.diags.report(DiagKind::ExpectedInteger, e.range, role, typeName(t));
    return ast::Type::error();
}

ast::Type ExprChecker::expectBool(ast::Expr& e, const Env& env) {
    ast::Type t = check(e, env);
    if (t.isError() || t.kind == ast::Type::Bool) return t;
    ctx_.diags.report(DiagKind::ConditionNotBool, e.range, typeName(t));
    return ast::Type::error();
}

ast::Type ExprChecker::checkInner(ast::Expr& e, const Env& env) {
    using K = ast::Expr::Kind;
    switch (e.kind) {
    case K::Int:
        return ast::Type::integer(64);
    case K::Bool:
        return ast::Type::of(ast::Type::Bool);
    case K::String:
        return ast::Type::of(ast::Type::String);
    case K::Name:
        return checkName(e, env);
    case K::Member:
        return checkMember(e, env);
    case K::Index: {
        ast::Type base = check(*e.operands[0], env);
        ast::Type idx = expectInt(*e.operands[1], env, "an index");
        if (base.isError() || idx.isError()) return ast::Type::error();
        if (base.isBytesLike()) return ast::Type::integer(8);
        if (base.kind == ast::Type::List) return elementType(base);
        ctx_.diags.report(DiagKind::NotIndexable, e.operands[0]->range, typeName(base));
        return ast::Type::error();
    }
    case K::Call:
        return checkCall(e, env);
    case K::Unary: {
        ast::Type t = expectInt(*e.operands[0], env, ("the operand of '" + e.text + "'").c_str());
        return t.isError() ? t : ast::Type::integer(64);
    }
    case K::Not:
        return expectBool(*e.operands[0], env).isError() ? ast::Type::error()
                                                         : ast::Type::of(ast::Type::Bool);
    case K::In: {
        ast::Type t = expectInt(*e.operands[0], env, "the operand of 'in'");
        return t.isError() ? t : ast::Type::of(ast::Type::Bool);
    }
    case K::Cond: {
        ast::Type c = expectBool(*e.operands[0], env);
        ast::Type a = check(*e.operands[1], env);
        ast::Type b = check(*e.operands[2], env);
        if (c.isError() || a.isError() || b.isError()) return ast::Type::error();
        if (a.isInt() && b.isInt()) return ast::Type::integer(std::max(a.width, b.width));
        if (a.isBytesLike() && b.isBytesLike())
            return ast::Type::of(a.kind == b.kind ? a.kind : ast::Type::Bytes);
        if (a.kind == b.kind && a.kind != ast::Type::Record && a.kind != ast::Type::List) return a;
        ctx_.diags.report(DiagKind::BranchMismatch, e.range, typeName(a), typeName(b));
        return ast::Type::error();
    }
    case K::Binary:
        return checkBinary(e, env);
    }
    return ast::Type::error();
}

ast::Type ExprChecker::checkBinary(ast::Expr& e, const Env& env) {
    const std::string& op = e.text;
    if (op == "and" || op == "or") {
        ast::Type a = expectBool(*e.operands[0], env);
        ast::Type b = expectBool(*e.operands[1], env);
        return a.isError() || b.isError() ? ast::Type::error() : ast::Type::of(ast::Type::Bool);
    }
    ast::Type a = check(*e.operands[0], env);
    ast::Type b = check(*e.operands[1], env);
    if (a.isError() || b.isError()) return ast::Type::error();
    if (op == "==" || op == "!=") {
        bool ok = (a.isInt() && b.isInt()) || (a.isBytesLike() && b.isBytesLike()) ||
                  (a.kind == b.kind && (a.kind == ast::Type::Bool || a.kind == ast::Type::Mac ||
                                        a.kind == ast::Type::Ipv4 || a.kind == ast::Type::Ipv6));
        if (!ok) {
            ctx_.diags.report(DiagKind::CompareMismatch, e.range, typeName(a), typeName(b), op);
            return ast::Type::error();
        }
        return ast::Type::of(ast::Type::Bool);
    }
    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
        if (!a.isInt() || !b.isInt()) {
            ctx_.diags.report(DiagKind::CompareMismatch, e.range, typeName(a), typeName(b), op);
            return ast::Type::error();
        }
        return ast::Type::of(ast::Type::Bool);
    }
    if (!a.isInt() || !b.isInt()) {
        const ast::Expr& bad = a.isInt() ? *e.operands[1] : *e.operands[0];
        ctx_.diags.report(DiagKind::ArithmeticOperand, bad.range, op, typeName(a.isInt() ? b : a));
        return ast::Type::error();
    }
    return ast::Type::integer(64);
}

ast::Type ExprChecker::checkMember(ast::Expr& e, const Env& env) {
    ast::Expr& base = *e.operands[0];
    if (base.kind == ast::Expr::Kind::Name && base.text == "parent") {
        bool fromRecord;
        if (!lookup(env, "parent", fromRecord)) {
            base.ref.kind = ast::Ref::Parent;
            base.type = ast::Type::error();
            return checkParentMember(e, env);
        }
    }
    ast::Type bt = check(base, env);
    if (bt.isError()) return bt;
    const ast::Record* rec = nullptr;
    bool projection = false;
    if (bt.kind == ast::Type::Record) {
        rec = bt.record;
    } else if (bt.kind == ast::Type::List && bt.elem == ast::Type::Record) {
        rec = bt.record;
        projection = true;
    } else {
        ctx_.diags.report(DiagKind::NoMembers, base.range, typeName(bt), e.text);
        return ast::Type::error();
    }
    auto& scope = ctx_.symbols[ownerOf(rec, env)].recordScopes[rec];
    auto it = scope.find(e.text);
    if (it == scope.end()) {
        ctx_.diags.report(DiagKind::NoSuchMember, e.nameRange, rec->name, e.text);
        ctx_.diags.note(DiagKind::RecordDeclaredHere, rec->nameRange, rec->name);
        return ast::Type::error();
    }
    const Symbol& s = it->second;
    ast::Type ft;
    if (s.kind == Symbol::BitName) {
        e.ref.kind = ast::Ref::BitName;
        e.ref.field = s.field;
        e.ref.bit = s.bit;
        ft = ast::Type::of(ast::Type::Bool);
    } else {
        e.ref.kind = ast::Ref::Field;
        e.ref.field = s.field;
        ft = fieldType(*s.field);
    }
    if (!projection || ft.isError()) return ft;
    // `list.field` projects a field over every element: a list of its values.
    if (ft.kind == ast::Type::List) return ft;
    ast::Type l;
    l.kind = ast::Type::List;
    l.elem = ft.kind;
    l.elemWidth = ft.kind == ast::Type::Int ? ft.width : 0;
    l.record = ft.record;
    return l;
}

/// `find(list, cond)`: the first element for which cond holds; `any(list, cond)`: whether
/// one does. The condition is checked in the element's scope, like `on ... if`.
ast::Type ExprChecker::checkSearch(ast::Expr& e, const Env& env) {
    const std::string& f = e.text;
    if (!arityOk(e)) return ast::Type::error();
    ast::Type lt = check(*e.operands[0], env);
    if (lt.isError()) return lt;
    if (lt.kind != ast::Type::List) {
        ctx_.diags.report(DiagKind::ArgumentType, e.operands[0]->range, 1, f, "a list",
                          typeName(lt));
        return ast::Type::error();
    }
    Env inner = env;
    if (lt.elem == ast::Type::Record) inner.element = lt.record;
    ast::Type c = expectBool(*e.operands[1], inner);
    if (c.isError()) return c;
    return e.builtin->id == ast::BuiltinId::Any ? ast::Type::of(ast::Type::Bool) : elementType(lt);
}

/// `offset(field)`: where a field's bytes start, from the protocol's first byte.
/// `size_of(field)`: how many bytes a variable-length integer took in the packet.
ast::Type ExprChecker::checkOffset(ast::Expr& e, const Env& env) {
    const std::string& f = e.text;
    if (!arityOk(e)) return ast::Type::error();
    ast::Expr& a = *e.operands[0];
    ast::Type t = check(a, env);
    if (t.isError()) return t;
    bool isField = (a.kind == ast::Expr::Kind::Name || a.kind == ast::Expr::Kind::Member) &&
                   a.ref.kind == ast::Ref::Field;
    if (e.builtin->id == ast::BuiltinId::SizeOf) {
        if (!isField || a.ref.field->type.kind != ast::TypeSpec::Varint) {
            ctx_.diags.report(DiagKind::ArgumentType, a.range, 1, f,
                              "a variable-length integer field", typeName(t));
            return ast::Type::error();
        }
        return ast::Type::integer(32);
    }
    bool hasBytes = t.kind == ast::Type::Bytes || t.kind == ast::Type::Record ||
                    t.kind == ast::Type::List || t.kind == ast::Type::Mac ||
                    t.kind == ast::Type::Ipv4 || t.kind == ast::Type::Ipv6 ||
                    (t.isInt() && isField && a.ref.field->type.kind == ast::TypeSpec::Varint);
    if (!isField || !hasBytes) {
        ctx_.diags.report(DiagKind::ArgumentType, a.range, 1, f,
                          "a field of bytes, an address, a record, a list or a variable-length "
                          "integer",
                          typeName(t));
        return ast::Type::error();
    }
    return ast::Type::integer(32);
}

/// `parse(bytes, RECORD)`: the bytes read as a record of this protocol, or of another
/// (`tls.handshake`) whose byte order is the same.
ast::Type ExprChecker::checkParse(ast::Expr& e, const Env& env) {
    auto& args = e.operands;
    if (!arityOk(e)) return ast::Type::error();
    ast::Type bt = check(*args[0], env);
    if (bt.isError()) return bt;
    if (!bt.isBytesLike()) {
        ctx_.diags.report(DiagKind::ArgumentType, args[0]->range, 1, "parse", "bytes or string",
                          typeName(bt));
        return ast::Type::error();
    }
    ast::Expr& r = *args[1];
    const ast::Protocol* owner = env.proto;
    std::string name = r.text;
    if (r.kind == ast::Expr::Kind::Member && r.operands[0]->kind == ast::Expr::Kind::Name) {
        owner = ctx_.findProtocol(r.operands[0]->text);
        if (!owner) {
            ctx_.diags.report(DiagKind::UnknownProtocol, r.operands[0]->range, r.operands[0]->text);
            return ast::Type::error();
        }
    } else if (r.kind != ast::Expr::Kind::Name) {
        owner = nullptr;
    }
    const ast::Record* rec = nullptr;
    if (owner)
        for (const auto& candidate : owner->records)
            if (candidate->name == name) rec = candidate.get();
    if (!rec || owner->byteOrder != env.proto->byteOrder) {
        ctx_.diags.report(DiagKind::ArgumentLiteral, r.range, 2, "parse",
                          "the name of a record of this protocol, or of another protocol of "
                          "the same byte order (PROTOCOL.RECORD)");
        return ast::Type::error();
    }
    ctx_.parsedRecords.insert(rec);
    ast::Type t = ast::Type::of(ast::Type::Record);
    t.record = rec;
    r.type = t;
    return t;
}

/// `assemble(list, OFFSET, DATA)`: the DATA of the elements put at their OFFSET, both
/// checked in the element's scope.
ast::Type ExprChecker::checkAssemble(ast::Expr& e, const Env& env) {
    auto& args = e.operands;
    if (!arityOk(e)) return ast::Type::error();
    ast::Type lt = check(*args[0], env);
    if (lt.isError()) return lt;
    if (lt.kind != ast::Type::List || lt.elem != ast::Type::Record) {
        ctx_.diags.report(DiagKind::ArgumentType, args[0]->range, 1, "assemble",
                          "a list of records", typeName(lt));
        return ast::Type::error();
    }
    Env inner = env;
    inner.element = lt.record;
    ast::Type ot = check(*args[1], inner);
    if (ot.isError()) return ot;
    if (!ot.isInt()) {
        ctx_.diags.report(DiagKind::ArgumentType, args[1]->range, 2, "assemble", "an integer",
                          typeName(ot));
        return ast::Type::error();
    }
    ast::Type dt = check(*args[2], inner);
    if (dt.isError()) return dt;
    if (!dt.isBytesLike()) {
        ctx_.diags.report(DiagKind::ArgumentType, args[2]->range, 3, "assemble", "bytes or string",
                          typeName(dt));
        return ast::Type::error();
    }
    return ast::Type::of(ast::Type::Bytes);
}

ast::Type ExprChecker::checkParentMember(ast::Expr& e, const Env& env) {
    if (env.fieldLevel && (env.record || env.noRemaining)) {
        ctx_.diags.report(DiagKind::NotAllowedHere, e.range, "'parent'", env.what);
        return ast::Type::error();
    }
    auto pit = ctx_.parents.find(env.proto);
    if (pit == ctx_.parents.end() || pit->second.empty()) {
        // An `over` naming an unknown protocol was reported already: no follow-on error.
        if (env.proto->overs.empty())
            ctx_.diags.report(DiagKind::NoParents, e.operands[0]->range, env.proto->name);
        return ast::Type::error();
    }
    ast::Type result;
    const ast::Protocol* first = nullptr;
    // In declaration order (the set is ordered by address), so that messages are stable.
    for (const ast::Protocol* par : ctx_.ordered) {
        if (!pit->second.count(par)) continue;
        const ast::Attribute* found = nullptr;
        for (const auto& a : par->attributes)
            if (a->name == e.text) found = a.get();
        if (!found) {
            ctx_.diags.report(DiagKind::ParentLacksAttribute, e.nameRange, par->name, e.text);
            if (!par->builtin) ctx_.diags.note(DiagKind::DeclaredHere, par->nameRange, par->name);
            return ast::Type::error();
        }
        use_ = e.range;
        ast::Type t =
            checkAttribute(*const_cast<ast::Attribute*>(found), const_cast<ast::Protocol*>(par));
        if (t.isError()) return t;
        if (!first) {
            first = par;
            result = t;
        } else if (t.kind != result.kind) {
            ctx_.diags.report(DiagKind::ParentTypesDiffer, e.range, e.text, typeName(result),
                              first->name, typeName(t), par->name);
            return ast::Type::error();
        } else if (t.isInt()) {
            result.width = std::max(result.width, t.width);
        }
    }
    e.ref.kind = ast::Ref::ProtoAttr;
    // What the code generator switches over, in this order.
    auto& found = ctx_.parentAttrs[&e];
    found.clear();
    for (const ast::Protocol* par : pit->second) {
        const ast::Attribute* attr = nullptr;
        for (const auto& a : par->attributes)
            if (a->name == e.text) attr = a.get();
        if (attr) found.push_back({par, attr});
    }
    return result;
}

/// Whether call `e` has as many arguments as its function takes; reports it if not.
bool ExprChecker::arityOk(const ast::Expr& e) {
    const ast::Builtin& b = *e.builtin;
    size_t lo = b.minArgs, hi = b.maxArgs, n = e.operands.size();
    if (n >= lo && (hi == ast::kAnyArgs || n <= hi)) return true;
    std::string want = lo == hi              ? std::to_string(lo)
                       : hi == ast::kAnyArgs ? "at least " + std::to_string(lo)
                                             : std::to_string(lo) + " to " + std::to_string(hi);
    want += hi == 1 ? " argument" : " arguments";
    ctx_.diags.report(DiagKind::WrongArity, e.range, e.text, want, n);
    return false;
}

/// `parent_is(tcp)`: whether the protocol below on this packet's path is `tcp`.
ast::Type ExprChecker::checkParentIs(ast::Expr& e) {
    auto& args = e.operands;
    if (args.size() != 1 || args[0]->kind != ast::Expr::Kind::Name) {
        ctx_.diags.report(DiagKind::ArgumentLiteral, e.range, 1, e.text, "a protocol name");
        return ast::Type::error();
    }
    if (!ctx_.findProtocol(args[0]->text)) {
        ctx_.diags.report(DiagKind::UnknownProtocol, args[0]->range, args[0]->text);
        return ast::Type::error();
    }
    args[0]->type = ast::Type::of(ast::Type::Bool);
    return ast::Type::of(ast::Type::Bool);
}

/// `run_of(0)`: how many bytes equal to 0 there are from where the field starts, in the
/// region being parsed. Where `remaining` is allowed only, with a byte literal.
ast::Type ExprChecker::checkRunOf(ast::Expr& e, const Env& env) {
    if (!arityOk(e)) return ast::Type::error();
    ast::Expr& a = *e.operands[0];
    if (a.kind != ast::Expr::Kind::Int || a.intValue > 255) {
        ctx_.diags.report(DiagKind::ArgumentLiteral, a.range, 1, e.text, "a byte value (0 to 255)");
        return ast::Type::error();
    }
    if (!env.fieldLevel || env.noRemaining) {
        ctx_.diags.report(DiagKind::NotAllowedHere, e.range, "'run_of'", env.what);
        return ast::Type::error();
    }
    a.type = ast::Type::integer(8);
    return ast::Type::integer(32);
}

/// Whether argument `i` of call `e`, of type `t`, is what its function takes there
/// (the table of built-in functions says); reports it if not.
bool ExprChecker::argumentOk(const ast::Expr& e, size_t i, const ast::Type& t) {
    using T = ast::Type;
    using A = ast::BuiltinArg;
    const ast::Expr& a = *e.operands[i];
    auto wrongType = [&](const char* want) {
        ctx_.diags.report(DiagKind::ArgumentType, a.range, i + 1, e.text, want, typeName(t));
        return false;
    };
    auto notLiteral = [&](const char* want) {
        ctx_.diags.report(DiagKind::ArgumentLiteral, a.range, i + 1, e.text, want);
        return false;
    };
    switch (ast::builtinArg(*e.builtin, i)) {
    case A::Bytes:
        return t.isBytesLike() || wrongType("bytes or string");
    case A::Int:
        return t.isInt() || wrongType("an integer");
    case A::List:
        return t.kind == T::List || wrongType("a list");
    case A::IntList:
        return (t.kind == T::List && t.elem == T::Int) || wrongType("a list of integers");
    case A::BytesOrList:
        return t.isBytesLike() || t.kind == T::List || wrongType("bytes, string or a list");
    case A::BytesOrInt:
        return t.isBytesLike() || t.isInt() || wrongType("bytes, string or an integer");
    case A::JoinableList:
        if (t.kind != T::List) return wrongType("a list");
        return t.elem == T::Bytes || t.elem == T::String || t.elem == T::Int ||
               wrongType("a list of bytes or integers");
    case A::StringLiteral:
        return isStringLiteral(a) || notLiteral("a string literal");
    case A::IntLiteral:
        return a.kind == ast::Expr::Kind::Int || notLiteral("an integer literal");
    case A::Own:
        break;
    }
    return true;
}

/// A call of a built-in function: its arguments checked and its type found as the table
/// of built-in functions says; the functions with rules of their own check themselves.
ast::Type ExprChecker::checkCall(ast::Expr& e, const Env& env) {
    using T = ast::Type;
    using I = ast::BuiltinId;
    auto& args = e.operands;
    e.builtin = ast::findBuiltin(e.text);
    if (e.builtin && e.builtin->result == ast::BuiltinResult::Own) {
        switch (e.builtin->id) {
        case I::Find:
        case I::Any:
            return checkSearch(e, env);
        case I::Offset:
        case I::SizeOf:
            return checkOffset(e, env);
        case I::Parse:
            return checkParse(e, env);
        case I::Assemble:
            return checkAssemble(e, env);
        case I::ParentIs:
            return checkParentIs(e);
        case I::RunOf:
            return checkRunOf(e, env);
        default:
            throw std::logic_error("built-in function without its own check: " + e.text);
        }
    }
    std::vector<T> ts;
    for (auto& a : args) ts.push_back(check(*a, env));
    for (const auto& t : ts)
        if (t.isError()) return T::error();
    if (!e.builtin) {
        ctx_.diags.report(DiagKind::UnknownFunction, e.nameRange, e.text);
        return T::error();
    }
    if (!arityOk(e)) return T::error();
    for (size_t i = 0; i < args.size(); ++i)
        if (!argumentOk(e, i, ts[i])) return T::error();
    const ast::Builtin& b = *e.builtin;
    switch (b.result) {
    case ast::BuiltinResult::Bool:
        return T::of(T::Bool);
    case ast::BuiltinResult::Bytes:
        return T::of(T::Bytes);
    case ast::BuiltinResult::String:
        return T::of(T::String);
    case ast::BuiltinResult::Int:
        return T::integer(b.width);
    case ast::BuiltinResult::WidestInt:
        return T::integer(std::max(ts[0].width, ts[1].width));
    case ast::BuiltinResult::Ipv4:
        return T::of(T::Ipv4);
    case ast::BuiltinResult::Ipv6:
        return T::of(T::Ipv6);
    case ast::BuiltinResult::Mac:
        return T::of(T::Mac);
    case ast::BuiltinResult::SameAsArg:
        return ts[0];
    case ast::BuiltinResult::KindOfArg:
        return T::of(ts[0].kind);
    case ast::BuiltinResult::ElementOf:
        return elementType(ts[0]);
    case ast::BuiltinResult::Own:
        break;
    }
    throw std::logic_error("built-in function without a result: " + e.text);
}

void checkExpressions(SemaContext& ctx) {
    ExprChecker ec(ctx);
    for (ast::Protocol* p : ctx.ordered) {
        if (p->builtin) continue;
        ec.checkProtocol(*p);
    }
}

} // namespace mmtc::sema
