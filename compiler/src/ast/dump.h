// A readable rendering of the AST, for `mmtc dump-ast` and tests.
#pragma once

#include "ast/ast.h"

#include <string>

namespace mmtc::ast {

std::string dump(const Module& m, const SourceManager& sm);
std::string dumpExpr(const Expr& e);

} // namespace mmtc::ast
