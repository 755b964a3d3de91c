// The one table of host functions generated code may call: the mmt_rt_* helpers of
// host.cpp and the few C library functions. Each entry yields the function's IR
// declaration (declared by the code generator, host_decls.cpp) and its address for the
// JIT's symbol map (jit.cpp). host_table.cpp also derives an LLVM type from each
// function's C++ type, so that a test holds every declaration to the function it names.
#pragma once

#include <string>
#include <vector>

namespace llvm {
class FunctionType;
class LLVMContext;
class PointerType;
class StructType;
class Type;
} // namespace llvm

namespace mmtc::codegen {

/// The types an IR declaration is written with.
struct HostTypes {
    llvm::Type *v, *i8, *i16, *i32, *i64;
    llvm::PointerType* i8p;
    llvm::StructType *ctx, *result; // mmt_ctx, mmt_parse_result
};

struct HostFn {
    enum Attr : unsigned {
        ReadsOnly = 1,  // reads memory, writes none
        ArgMemOnly = 2, // touches only memory its pointer arguments point to
        Cold = 4        // called on failure paths only
    };
    const char* name;
    void* address;
    /// The IR declaration's type; null for functions LLVM itself may call (memcpy for a
    /// copy it forms, bcmp for a memcmp it simplifies), which are not declared.
    llvm::FunctionType* (*irType)(const HostTypes&);
    /// The type derived from the C++ function's own type.
    llvm::FunctionType* (*cxxType)(const HostTypes&);
    unsigned attrs;
};

/// Every host function, in the order the code generator declares them.
const std::vector<HostFn>& hostFunctions();

/// Declares the host functions in a fresh module and compares each declaration with the
/// type derived from its C++ type: one line per disagreement (empty when all agree).
std::vector<std::string> hostSignatureMismatches();

} // namespace mmtc::codegen
