// Lowering of checked specs to LLVM IR: the stage functions of every protocol and the
// library table the runtime reads (see runtime/include/mmt/abi.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace llvm {
class Module;
}

namespace mmtc::ast {
struct Protocol;
}

namespace mmtc::sema {
struct SemaContext;
}

namespace mmtc::codegen {

/// Fills `module` with one part of the library: the stage functions of the protocols in
/// `mine` (all of them when empty), what they call of other protocols, and their table,
/// an `mmt_library` exported as partSymbol(part). Parts are compiled apart and in
/// parallel; the loader joins their tables.
void lower(const sema::SemaContext& sema, llvm::Module& module,
           const std::vector<const ast::Protocol*>& mine, unsigned part);

/// For a library compiled lazily: the table of every protocol (as part 0, with the
/// services) and no code. Each stage function the table names is declared with external
/// linkage; `exports` receives their names, per protocol in id order.
void lowerTable(const sema::SemaContext& sema, llvm::Module& module,
                std::vector<std::pair<const ast::Protocol*, std::vector<std::string>>>& exports);

/// The code of protocol `p` alone, no table: the functions named in `exports` (by
/// lowerTable) are defined with external linkage, what they call privately. Returns the
/// names it could not define: none, unless the table and the code disagree.
std::vector<std::string> lowerProtocol(const sema::SemaContext& sema, llvm::Module& module,
                                       const ast::Protocol& p,
                                       const std::vector<std::string>& exports);

/// The symbol of part `part`'s table: MMT_LIBRARY_SYMBOL "_part" N.
std::string partSymbol(unsigned part);

/// An ABI struct as the code generator lays it out (for the test that holds it to abi.h).
struct AbiStruct {
    const char* name;
    unsigned long long size;
    std::vector<unsigned long long> offsets; // of each field, in declaration order
};

/// The layouts of every abi.h struct lower() uses, under `module`'s data layout.
std::vector<AbiStruct> abiStructs(llvm::Module& module);

} // namespace mmtc::codegen
