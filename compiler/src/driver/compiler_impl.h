// The state of one compilation, shared by the driver and code generation.
#pragma once

#include "ast/ast.h"
#include "codegen/jit.h"
#include "mmtc/compiler.h"
#include "sema/sema.h"
#include "support/diag.h"

namespace mmtc {

struct Compiler::Impl {
    SourceManager sm;
    DiagEngine diags{sm};
    ast::Module module;
    std::unique_ptr<sema::SemaContext> sema;
    std::string ioError;
    bool checked = false;
    bool ok = false;
    codegen::Timings timings;
};

struct Library::Impl {
    std::unique_ptr<codegen::NativeLibrary> native;
};

} // namespace mmtc
