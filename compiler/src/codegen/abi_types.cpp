// The ABI structs and stage function types, field for field as in runtime/include/mmt/abi.h.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

void Lowerer::declareTypes() {
    // Layouts mirror abi.h field for field (checked by test_codegen_library.cpp).
    ctxTy = llvm::StructType::create(C, "mmt_ctx");
    scratchTy = llvm::StructType::create(C, {i8p, i32, i32}, "mmt_scratch");
    valueTy = llvm::StructType::create(C, {i32, i32, i64, i8p}, "mmt_value");
    resultTy =
        llvm::StructType::create(C, {i32, i32, i32, i32, i32, i32, i32, i32}, "mmt_parse_result");
    auto* keySide = llvm::ArrayType::get(i8, MMT_KEY_SIDE_MAX);
    keyTy = llvm::StructType::create(C, {i16, i16, i16, i16, keySide, keySide, keySide}, "mmt_key");
    classTy = llvm::StructType::create(C, {i32, i32, i32}, "mmt_class_result");
    streamTy = llvm::StructType::create(C, {i32, i32}, "mmt_stream_info");
    fragTy = llvm::StructType::create(C, {i64, i32, i32}, "mmt_frag_info");
    ctxPtr = llvm::PointerType::getUnqual(ctxTy);
    emitFnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(C),
                                       {ctxPtr, i32, llvm::PointerType::getUnqual(valueTy)}, false);
    ctxTy->setBody({i8p, i32, i32, i32, i32, ctxPtr, i8p, i8p, i8p, i64,
                    llvm::PointerType::getUnqual(emitFnTy), i8p});
    attrTy = llvm::StructType::create(C, {i8p, i32, i32, i8p, i32, i32, i8p}, "mmt_attr");
    protoTy = llvm::StructType::create(C,
                                       {i32,
                                        i8p,
                                        i32,
                                        i32,
                                        i32,
                                        i32,
                                        llvm::PointerType::getUnqual(attrTy),
                                        i32,
                                        llvm::PointerType::getUnqual(i8p),
                                        i8p,
                                        i32,
                                        i32,
                                        i8p,
                                        i8p,
                                        i8p,
                                        i8p,
                                        i8p,
                                        i8p,
                                        i8p,
                                        i8p,
                                        i8p,
                                        i8p,
                                        i8p},
                                       "mmt_proto");
    serviceTy = llvm::StructType::create(C, {i8p, i32, llvm::PointerType::getUnqual(i8p), i32, i8p},
                                         "mmt_service");
    libTy = llvm::StructType::create(C,
                                     {i32, i32, llvm::PointerType::getUnqual(protoTy), i32,
                                      llvm::PointerType::getUnqual(serviceTy)},
                                     "mmt_library");
    // One element per named field index (abi_fields.h, itself checked against abi.h).
    for (auto [t, n] : {std::pair<llvm::StructType*, unsigned>{valueTy, abi::value::Count},
                        {resultTy, abi::result::Count},
                        {ctxTy, abi::ctx::Count},
                        {scratchTy, abi::scratch::Count},
                        {keyTy, abi::key::Count},
                        {classTy, abi::cls::Count},
                        {streamTy, abi::stream::Count},
                        {fragTy, abi::frag::Count},
                        {attrTy, abi::attr::Count},
                        {protoTy, abi::proto::Count},
                        {serviceTy, abi::service::Count},
                        {libTy, abi::library::Count}})
        if (t->getNumElements() != n)
            throw std::logic_error(std::string(t->getName()) +
                                   ": fields and abi_fields.h disagree");

    auto ptr = [](llvm::Type* t) { return llvm::PointerType::getUnqual(t); };
    validateTy = llvm::FunctionType::get(i32, {ctxPtr, ptr(resultTy)}, false);
    getterTy = llvm::FunctionType::get(i32, {ctxPtr, ptr(valueTy)}, false);
    keyFnTy = llvm::FunctionType::get(i32, {ctxPtr, ptr(keyTy)}, false);
    sidesTy = llvm::FunctionType::get(i32, {ctxPtr, ptr(valueTy), ptr(valueTy)}, false);
    classifyTy = llvm::FunctionType::get(i32, {ctxPtr, ptr(resultTy), ptr(classTy)}, false);
    pduTy = llvm::FunctionType::get(i64, {ctxPtr}, false);
    updateTy = llvm::FunctionType::get(llvm::Type::getVoidTy(C), {ctxPtr}, false);
    initTy = llvm::FunctionType::get(llvm::Type::getVoidTy(C), {i8p}, false);
    streamFnTy = llvm::FunctionType::get(i32, {ctxPtr, ptr(streamTy)}, false);
    fragFnTy = llvm::FunctionType::get(i32, {ctxPtr, ptr(fragTy)}, false);
}

} // namespace mmtc::codegen::detail
