// Lowering of checked specs to LLVM IR: the stage functions of every protocol and the
// library table the runtime reads (see runtime/include/mmt/abi.h).
#pragma once

#include <vector>

namespace llvm {
class Module;
}

namespace mmtc::sema {
struct SemaContext;
}

namespace mmtc::codegen {

/// Fills `module` with every protocol's stage functions and the `mmt_library_v1` table.
void lower(sema::SemaContext& sema, llvm::Module& module);

/// An ABI struct as the code generator lays it out (for the test that holds it to abi.h).
struct AbiStruct {
    const char* name;
    unsigned long long size;
    std::vector<unsigned long long> offsets; // of each field, in declaration order
};

/// The layouts of every abi.h struct lower() uses, under `module`'s data layout.
std::vector<AbiStruct> abiStructs(llvm::Module& module);

/// Changes whenever the code generator is rebuilt; part of the cache key.
const char* lowererBuildStamp();

} // namespace mmtc::codegen
