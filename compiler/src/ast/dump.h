// A readable rendering of the AST, for `mmtc dump-ast` and tests.
#pragma once

#include "ast/ast.h"

#include <string>

namespace mmtc::ast {

/// The tree of the first `files` files of `m` (all by default).
std::string dump(const Module& m, const SourceManager& sm, size_t files = size_t(-1));
std::string dumpExpr(const Expr& e);

} // namespace mmtc::ast
