// Declarations of the host helpers (mmt_rt_*) the generated code calls.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

void Lowerer::declareHelpers() {
    auto decl = [&](const char* name, llvm::Type* ret, std::vector<llvm::Type*> args) {
        Function* f = Function::Create(llvm::FunctionType::get(ret, args, false),
                                       Function::ExternalLinkage, name, M);
        f->addFnAttr(llvm::Attribute::NoUnwind);
        f->addFnAttr(llvm::Attribute::WillReturn);
        return f;
    };
    hFind = decl("mmt_rt_find", i64, {i8p, i64, i8p, i64});
    hFind->setOnlyReadsMemory();
    hFind->setOnlyAccessesArgMemory();
    hIcase = decl("mmt_rt_icase_eq", i32, {i8p, i8p, i64});
    hIcase->setOnlyReadsMemory();
    hIcase->setOnlyAccessesArgMemory();
    hToInt = decl("mmt_rt_to_int", i32, {i8p, i64, llvm::PointerType::getUnqual(i64)});
    hToInt->setOnlyAccessesArgMemory();
    hTrim = decl("mmt_rt_trim", i64, {i8p, i64, llvm::PointerType::getUnqual(i64)});
    hTrim->setOnlyAccessesArgMemory();
    hAppend = decl("mmt_rt_scratch_append", i8p, {ctxPtr, i8p, i64});
    hMark = decl("mmt_rt_scratch_mark", i8p, {ctxPtr});
    hMark->setOnlyReadsMemory();
    hDomainName = decl("mmt_rt_domain_name", i64, {ctxPtr, i8p, i64, i64});
    hNetbiosName = decl("mmt_rt_netbios_name", i64, {ctxPtr, i8p, i64});
    hChunked = decl("mmt_rt_chunked_length", i64, {i8p, i64});
    hDigest = decl("mmt_rt_digest", i64, {ctxPtr, i8p, i64, i32});
    hHex = decl("mmt_rt_hex", i64, {ctxPtr, i8p, i64});
    hAppendInt = decl("mmt_rt_append_int", i8p, {ctxPtr, i64, i32});
    hSortInts = decl("mmt_rt_sort_ints", llvm::Type::getVoidTy(C), {i8p, i64});
    hSortInts->setOnlyAccessesArgMemory();
    hQuicInitial = decl("mmt_rt_quic_initial", i64,
                        {ctxPtr, i8p, i64, i64, i64, i8p, i64, llvm::PointerType::getUnqual(i8p)});
    hAssembleInit = decl("mmt_rt_assemble_init", i8p, {ctxPtr, i64});
    hAssemblePut = decl("mmt_rt_assemble_put", llvm::Type::getVoidTy(C), {i8p, i64, i64, i8p, i64});
    hAssembleEnd = decl("mmt_rt_assemble_end", i64, {i8p, i64});
    hAssembleEnd->setOnlyReadsMemory();
    hChunked->setOnlyReadsMemory();
    hChunked->setOnlyAccessesArgMemory();
    hMatchAny = decl("mmt_rt_match_any", i32, {i8p, i64, i8p, i32});
    hMatchAny->setOnlyReadsMemory();
    hMatchAny->setOnlyAccessesArgMemory();
    hFail = decl("mmt_rt_fail", llvm::Type::getVoidTy(C),
                 {llvm::PointerType::getUnqual(resultTy), i32, i64});
    hFail->setOnlyAccessesArgMemory();
    hFail->addFnAttr(llvm::Attribute::Cold);
    hShort = decl("mmt_rt_short", llvm::Type::getVoidTy(C),
                  {llvm::PointerType::getUnqual(resultTy), i64, i64,
                   llvm::PointerType::getUnqual(i32), i32, i32, i32});
    hShort->setOnlyAccessesArgMemory();
    hShort->addFnAttr(llvm::Attribute::Cold);
    hMemcmp = decl("memcmp", i32, {i8p, i8p, i64});
    hMemcmp->setOnlyReadsMemory();
    hMemcmp->setOnlyAccessesArgMemory();
}

} // namespace mmtc::codegen::detail
