// Parsing .mmtp text into the AST. The only header that knows ANTLR exists is
// build_ast.cpp's own; everything downstream sees the AST alone.
#pragma once

#include "ast/ast.h"
#include "support/diag.h"

#include <memory>

namespace mmtc {

/// Parses the file `fileId` of `sm`. Syntax errors are reported to `diags`; when any
/// was reported the returned tree may be incomplete and must not be checked further.
std::unique_ptr<ast::File> parseFile(const SourceManager& sm, uint32_t fileId, DiagEngine& diags);

} // namespace mmtc
