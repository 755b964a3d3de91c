// Name resolution and typing of expressions, shared by the passes that need types.
#pragma once

#include "sema/sema.h"

#include <climits>

namespace mmtc::sema {

/// Where an expression is evaluated, which decides what its names may refer to.
struct Env {
    ast::Protocol* proto = nullptr;
    const ast::Record* record = nullptr; // inside a record: only its fields are visible
    const ast::Record* element =
        nullptr; // an event attribute's list element: its fields come first
    // Field-level expressions (lengths, conditions, constraints) see only fields parsed
    // before them: fields of `orderStructure` numbered `limit` or more are not yet parsed.
    bool fieldLevel = false;
    const ast::Record* orderStructure = nullptr;
    unsigned limit = UINT_MAX;
    const ast::Field* self = nullptr; // a field's own `requires` may name the field
    bool allowPayload = false;
    bool noRemaining = false; // field-level, but not at a parsing position (state initialisers)
    bool allowState = false;
    bool allowDirection = true;
    const char* what = "an expression"; // for messages: "cannot be used in <what>"
};

class ExprChecker {
  public:
    explicit ExprChecker(SemaContext& ctx);

    /// Types `e` in `env`, annotating it and its operands; reports errors once.
    ast::Type check(ast::Expr& e, const Env& env);
    ast::Type expectInt(ast::Expr& e, const Env& env, const char* role);
    ast::Type expectBool(ast::Expr& e, const Env& env);
    ast::Type checkLet(ast::Let& l, ast::Protocol* proto);
    ast::Type checkAttribute(ast::Attribute& a, ast::Protocol* proto);
    void checkProtocol(ast::Protocol& p);

    static ast::Type fieldType(const ast::Field& f);
    static ast::Type elementType(const ast::Type& list);
    static bool assignable(const ast::Type& to, const ast::Type& from);

  private:
    struct LetDeps {
        std::vector<const ast::Field*> fields;
        bool payload = false, state = false, attribute = false, parent = false;
    };

    ast::Type checkInner(ast::Expr& e, const Env& env);
    ast::Type checkName(ast::Expr& e, const Env& env);
    ast::Type checkMember(ast::Expr& e, const Env& env);
    ast::Type checkParentMember(ast::Expr& e, const Env& env);
    ast::Type checkCall(ast::Expr& e, const Env& env);
    bool arityOk(const ast::Expr& e);
    bool argumentOk(const ast::Expr& e, size_t i, const ast::Type& t);
    ast::Type checkParentIs(ast::Expr& e);
    ast::Type checkRunOf(ast::Expr& e, const Env& env);
    ast::Type checkSearch(ast::Expr& e, const Env& env);
    ast::Type checkOffset(ast::Expr& e, const Env& env);
    ast::Type checkParse(ast::Expr& e, const Env& env);
    ast::Type checkAssemble(ast::Expr& e, const Env& env);
    ast::Type checkBinary(ast::Expr& e, const Env& env);
    ast::Type typeAttribute(ast::Attribute& a, ast::Protocol* proto);
    const Symbol* lookup(const Env& env, const std::string& name, bool& fromRecord);
    void suggest(const Env& env, const std::string& name);
    void checkOrder(const ast::Expr& e, const Env& env, const ast::Field& f);
    void checkLetInFieldContext(const ast::Expr& use, const Env& env, const ast::Let& let);
    void collectDeps(const ast::Expr& e, LetDeps& d, std::set<const ast::Let*>& seen);
    void checkItems(std::vector<ast::FieldItem>& items, const Env& base, unsigned& nextSeq);

    /// Values and attributes being typed, innermost last, with the reference that led to
    /// each: a definition met again while on this stack closes a cycle.
    struct Pending {
        const void* node;
        std::string name;
        SourceRange use;
    };
    void enter(const void* node, const std::string& name);
    void leave() { pending_.pop_back(); }
    void reportCycle(const void* node, const char* what, const std::string& name, SourceRange at);

    SemaContext& ctx_;
    std::vector<Pending> pending_;
    SourceRange use_; // the reference being resolved when a definition is typed on demand
};

} // namespace mmtc::sema
