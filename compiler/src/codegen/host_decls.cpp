// Declarations of the host functions the generated code calls, from the one table of
// them (host_table.cpp).
#include "codegen/host_table.h"
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

void Lowerer::declareHelpers() {
    HostTypes t{llvm::Type::getVoidTy(C), i8, i16, i32, i64, i8p, ctxTy, resultTy};
    std::map<std::string, Function*> declared;
    for (const HostFn& h : hostFunctions()) {
        if (!h.irType) continue;
        Function* f = Function::Create(h.irType(t), Function::ExternalLinkage, h.name, M);
        f->addFnAttr(llvm::Attribute::NoUnwind);
        f->addFnAttr(llvm::Attribute::WillReturn);
        if (h.attrs & HostFn::ReadsOnly) f->setOnlyReadsMemory();
        if (h.attrs & HostFn::ArgMemOnly) f->setOnlyAccessesArgMemory();
        if (h.attrs & HostFn::Cold) f->addFnAttr(llvm::Attribute::Cold);
        declared[h.name] = f;
    }
    auto get = [&](const char* name) {
        auto it = declared.find(name);
        if (it == declared.end())
            throw std::logic_error(std::string("host function not in the table: ") + name);
        return it->second;
    };
    hFind = get("mmt_rt_find");
    hIcase = get("mmt_rt_icase_eq");
    hToInt = get("mmt_rt_to_int");
    hTrim = get("mmt_rt_trim");
    hAppend = get("mmt_rt_scratch_append");
    hMark = get("mmt_rt_scratch_mark");
    hMemo = get("mmt_rt_memo");
    hDomainName = get("mmt_rt_domain_name");
    hNetbiosName = get("mmt_rt_netbios_name");
    hChunked = get("mmt_rt_chunked_length");
    hRunOf = get("mmt_rt_run_of");
    hDigest = get("mmt_rt_digest");
    hHex = get("mmt_rt_hex");
    hAppendInt = get("mmt_rt_append_int");
    hSortInts = get("mmt_rt_sort_ints");
    hQuicInitial = get("mmt_rt_quic_initial");
    hStateBytesGet = get("mmt_rt_state_bytes_get");
    hStateBytesSet = get("mmt_rt_state_bytes_set");
    hStateBytesFree = get("mmt_rt_state_bytes_free");
    hAssembleInit = get("mmt_rt_assemble_init");
    hAssemblePut = get("mmt_rt_assemble_put");
    hAssembleEnd = get("mmt_rt_assemble_end");
    hMatchAny = get("mmt_rt_match_any");
    hFail = get("mmt_rt_fail");
    hShort = get("mmt_rt_short");
    hMemcmp = get("memcmp");
}

} // namespace mmtc::codegen::detail
