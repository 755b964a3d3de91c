// Lowering of checked specs to LLVM IR: the stage functions of every protocol and the
// library table the runtime reads (see runtime/include/mmt/abi.h).
#pragma once

namespace llvm {
class Module;
}

namespace mmtc::sema {
struct SemaContext;
}

namespace mmtc::codegen {

/// Fills `module` with every protocol's stage functions and the `mmt_library_v1` table.
void lower(sema::SemaContext& sema, llvm::Module& module);

/// Changes whenever the code generator is rebuilt; part of the cache key.
const char* lowererBuildStamp();

} // namespace mmtc::codegen
