// What jit.cpp and jit_lazy.cpp share: making target machines, JITs and objects, the O1
// pipeline, and the insides of a NativeLibrary. Included only by those two files.
#pragma once

#include "codegen/jit.h"
#include "loader/library_object.h"
#include "mmt/abi.h"

#include <llvm/ExecutionEngine/Orc/IndirectionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/LazyReexports.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>
#include <llvm/Target/TargetMachine.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mmtc::codegen {

struct NativeLibrary::Impl {
    // A library compiled lazily: what its protocols are compiled from (it outlives the
    // JIT), and how their stubs call them (they use the JIT's session: they go first).
    std::shared_ptr<const void> owner;
    std::atomic<unsigned> compiled{0};
    // The code, linked by ORC or by the runtime's loader.
    std::unique_ptr<llvm::orc::LLJIT> jit;
    std::unique_ptr<llvm::orc::LazyCallThroughManager> callThrough;
    std::unique_ptr<llvm::orc::IndirectStubsManager> stubs;
    std::unique_ptr<mmt::LibraryObject> object;
    // The parts' tables joined, in protocol id order (`frame` first).
    std::vector<mmt_proto> protos;
    std::vector<mmt_service> services;
    mmt_library table{};
    /// The tables of `parts` parts, found by `lookup`, joined into `table`.
    bool joinTables(const std::function<void*(const std::string&)>& lookup, size_t parts,
                    std::string& error);
};

namespace jitutil {

std::string errorText(llvm::Error e);
/// A target machine for this host (position-independent code) at `level`.
std::unique_ptr<llvm::TargetMachine>
makeTargetMachine(std::string& error, llvm::CodeGenOpt::Level level = llvm::CodeGenOpt::Default);
/// Identical functions merged, O1, and the instrumentation a build asks for. With
/// `lightOver`, functions of more IR instructions than that get a light pipeline (SROA,
/// CSE, CFG simplification, instruction combining) instead of O1.
void optimize(llvm::Module& m, llvm::TargetMachine* tm, unsigned part, unsigned lightOver = 0);
/// An LLJIT for this host.
std::unique_ptr<llvm::orc::LLJIT> makeJit(std::string& error);
/// The helpers generated code may call, registered by name in `jd`; nothing else resolves.
bool defineHostSymbols(llvm::orc::LLJIT& jit, llvm::orc::JITDylib& jd, std::string& error);
/// A symbol's address in `jit` (which must outlive the function), or null.
std::function<void*(const std::string&)> jitLookup(llvm::orc::LLJIT& jit);
/// Machine code for `m`: a relocatable object.
bool emitObject(llvm::Module& m, llvm::TargetMachine& tm, llvm::SmallVectorImpl<char>& buf,
                std::string& error);
/// A module for the host, lowered by `lowerFn`, checked by the verifier.
bool lowerChecked(llvm::Module& m, llvm::TargetMachine& tm, const std::function<void()>& lowerFn,
                  std::string& error);

} // namespace jitutil

} // namespace mmtc::codegen
