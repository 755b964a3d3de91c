// Part of pass check-expressions: visits every place a protocol holds an expression and
// checks it in the right environment.
#include "sema/expr_checker.h"

namespace mmtc::sema {

void ExprChecker::checkItems(std::vector<ast::FieldItem>& items, const Env& base,
                             unsigned& nextSeq) {
    auto& infos = ctx_.symbols[base.proto].fields;
    for (auto& it : items) {
        Env env = base;
        env.fieldLevel = true;
        env.limit = nextSeq;
        switch (it.kind) {
        case ast::FieldItem::Kind::Requires:
            env.what = "a 'requires' constraint";
            expectBool(*it.requires_, env);
            break;
        case ast::FieldItem::Kind::Switch: {
            env.what = "a switch selector";
            expectInt(*it.sw->selector, env, "a switch selector");
            if (it.sw->size) {
                env.what = "a switch size";
                expectInt(*it.sw->size, env, "a size");
            }
            for (auto& arm : it.sw->arms) checkItems(arm.items, base, nextSeq);
            break;
        }
        case ast::FieldItem::Kind::Field: {
            ast::Field& f = *it.field;
            auto info = infos.find(&f);
            unsigned seq = info != infos.end() ? info->second.seq : nextSeq;
            env.limit = seq;
            if (f.cond) {
                env.what = "a field condition";
                expectBool(*f.cond, env);
            }
            if (f.count) {
                env.what = f.isList ? "a list count" : "a length";
                expectInt(*f.count, env, f.isList ? "a list count" : "a length");
            }
            if (f.size) {
                env.what = "a size";
                expectInt(*f.size, env, "a size");
            }
            // `until (cond)` is evaluated on each element, so it needs a known record type;
            // check-fields and resolve-types report the other cases.
            if (f.until && f.type.kind == ast::TypeSpec::Record && f.type.record) {
                Env u = env;
                u.what = "an 'until' condition";
                u.element = f.type.record;
                expectBool(*f.until, u);
            }
            Env self = env;
            self.self = &f;
            self.limit = seq + 1;
            self.what = "a 'requires' constraint";
            for (auto& r : f.requires_) expectBool(*r, self);
            nextSeq = seq + 1;
            break;
        }
        }
    }
}

void ExprChecker::checkProtocol(ast::Protocol& p) {
    ProtoSymbols& syms = ctx_.symbols[&p];
    // Field-level expressions, structure by structure.
    {
        Env env;
        env.proto = &p;
        env.orderStructure = p.header ? p.header.get() : p.body.get();
        // The session's state (as the previous packets left it) and the protocol below
        // are known before this protocol is parsed.
        env.allowState = true;
        unsigned seq = 0;
        if (p.header) checkItems(p.header->items, env, seq);
        if (p.body) checkItems(p.body->items, env, seq);
    }
    for (auto& r : p.records) {
        Env env;
        env.proto = &p;
        env.record = r.get();
        env.orderStructure = r.get();
        unsigned seq = 0;
        checkItems(r->items, env, seq);
    }
    (void)syms;

    // State types first: updates and attributes read them.
    for (auto& v : p.state) {
        v->type = typeFromName(v->typeName.name);
        if (v->type.kind == ast::Type::Bytes) {
            // Bytes live outside the session's fixed-size state, up to their bound.
            if (!v->max || *v->max == 0 || *v->max > ast::kStateBytesMax) {
                ctx_.diags.report(DiagKind::StateBytesNeedMax,
                                  v->max ? v->maxRange : v->typeName.range, v->name,
                                  ast::kStateBytesMax);
                v->type = ast::Type::error();
            }
            if (v->init) ctx_.diags.report(DiagKind::StateBytesInit, v->init->range, v->name);
            continue;
        }
        if (v->type.isError() || v->type.kind == ast::Type::String) {
            ctx_.diags.report(DiagKind::BadStateType, v->typeName.range, v->typeName.name);
            v->type = ast::Type::error();
        } else if (v->max) {
            ctx_.diags.report(DiagKind::StateMaxNotBytes, v->maxRange, v->name, v->typeName.name);
        }
        if (v->init) {
            Env env;
            env.proto = &p;
            env.fieldLevel = true;
            env.orderStructure = nullptr;
            env.what = "a state initialiser";
            env.noRemaining = true;
            ast::Type t = check(*v->init, env);
            if (!t.isError() && v->init->kind != ast::Expr::Kind::Int &&
                v->init->kind != ast::Expr::Kind::Bool)
                ctx_.diags.report(DiagKind::InitNotConstant, v->init->range, v->name);
            else if (!t.isError() && !v->type.isError() && !assignable(v->type, t))
                ctx_.diags.report(DiagKind::TypeMismatch, v->init->range, typeName(t),
                                  typeName(v->type), "state variable '" + v->name + "'");
        }
    }
    for (auto& l : p.lets) checkLet(*l, &p);

    Env full;
    full.proto = &p;
    full.allowPayload = true;
    auto lengthDef = [&](std::optional<ast::LengthDef>& d, const char* what, bool headerOnly) {
        if (!d) return;
        Env env = full;
        env.what = what;
        env.allowPayload = false;
        env.allowState = false;
        if (headerOnly) {
            env.fieldLevel = true;
            env.orderStructure = p.header ? p.header.get() : nullptr;
            env.limit = UINT_MAX;
        }
        expectInt(*d->value, env, what);
    };
    lengthDef(p.headerLength, "'header_length'", false);
    lengthDef(p.payloadLength, "'payload_length'", false);
    lengthDef(p.pduLength, "'pdu_length'", false);
    if (p.pduBody) {
        // Evaluated on a PDU head: `payload` is what follows the head so far; the session's
        // state is read as the previous messages left it.
        Env env = full;
        env.what = "'pdu_body'";
        env.allowState = true;
        expectInt(*p.pduBody->value, env, "'pdu_body'");
    }

    for (auto& a : p.attributes) checkAttribute(*a, &p);

    auto keyParts = [&](ast::KeyParts& k) {
        Env env = full;
        env.allowPayload = false;
        env.allowDirection = false;
        env.what = "a session key";
        for (auto& e : k.a) check(*e, env);
        for (auto& e : k.b) check(*e, env);
    };
    if (p.key) keyParts(*p.key);
    if (p.session && p.session->key) keyParts(*p.session->key);
    if (p.ports) {
        Env env = full;
        env.allowPayload = false;
        env.what = "'ports'";
        expectInt(*p.ports->src, env, "a port");
        expectInt(*p.ports->dst, env, "a port");
    }
    for (auto& u : p.updates) {
        Env env = full;
        env.allowState = true;
        env.what = "a state update";
        check(*u.value, env);
        if (u.cond) expectBool(*u.cond, env);
    }
    for (auto& c : p.classifies) {
        Env env = full;
        env.what = "a classification rule";
        if (c.kind == ast::Classify::Kind::Value)
            expectInt(*c.expr, env, "a classification value");
        else if (c.kind == ast::Classify::Kind::When)
            expectBool(*c.expr, env);
    }
    auto block = [&](std::optional<ast::Block>& b, const char* what) {
        if (!b) return;
        Env env = full;
        env.allowPayload = false;
        env.what = what;
        for (auto& a : b->entries) check(*a.value, env);
    };
    block(p.stream, "a 'stream' entry");
    block(p.fragment, "a 'fragment' entry");

    // `over P when cond` is evaluated in P's scope, on P's payload.
    for (auto& o : p.overs) {
        if (!o.when) continue;
        ast::Protocol* parent = ctx_.findProtocol(o.parent);
        if (!parent) continue; // reported by check-relations
        Env env;
        env.proto = parent;
        env.allowPayload = true;
        env.what = "an 'over' condition";
        expectBool(*o.when, env);
    }
}

} // namespace mmtc::sema
