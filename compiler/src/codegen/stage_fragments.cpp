// Streams and fragments: the stream and fragment stage functions.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

/// Walks `p` as far as the fields the values of block `b` read.
void Lowerer::walkForBlock(FnState& st, const ast::Protocol& p, const ast::Block& b) {
    FieldSet need;
    for (const auto& e : b.entries)
        for (auto* x : fieldsOf(p, {e.value.get()})) need.insert(x);
    walkProtocol(st, p, planFor(p, need));
}

void Lowerer::defineStream(const ast::Protocol& p, ProtoFns& f) {
    FnState st = begin(f.stream, p, FailMode::Silent);
    Value* out = f.stream->getArg(1);
    const ast::Block& b = *p.stream;
    walkForBlock(st, p, b);
    Value* seq = evalInt(st, *b.find("seq")->value);
    Value* flags = B.getInt32(0);
    auto flag = [&](const char* n, uint32_t bit) {
        if (const ast::Assignment* a = b.find(n))
            flags = B.CreateOr(
                flags, B.CreateSelect(evalBool(st, *a->value), B.getInt32(bit), B.getInt32(0)));
    };
    flag("syn", MMT_STREAM_SYN);
    flag("fin", MMT_STREAM_FIN);
    flag("rst", MMT_STREAM_RST);
    B.CreateStore(B.CreateTrunc(seq, i32), B.CreateStructGEP(streamTy, out, abi::stream::Seq));
    B.CreateStore(flags, B.CreateStructGEP(streamTy, out, abi::stream::Flags));
    B.CreateRet(B.getInt32(1));
    B.SetInsertPoint(st.failBB);
    B.CreateRet(B.getInt32(0));
}

void Lowerer::defineFragment(const ast::Protocol& p, ProtoFns& f) {
    FnState st = begin(f.fragment, p, FailMode::Silent);
    Value* out = f.fragment->getArg(1);
    const ast::Block& b = *p.fragment;
    walkForBlock(st, p, b);
    Value* id = evalInt(st, *b.find("id")->value);
    Value* offset = evalInt(st, *b.find("offset")->value);
    Value* more = evalBool(st, *b.find("more")->value);
    B.CreateStore(id, B.CreateStructGEP(fragTy, out, abi::frag::Id));
    B.CreateStore(B.CreateTrunc(offset, i32), B.CreateStructGEP(fragTy, out, abi::frag::Offset));
    B.CreateStore(B.CreateZExt(more, i32), B.CreateStructGEP(fragTy, out, abi::frag::More));
    Value* isFrag = B.CreateOr(more, B.CreateICmpNE(offset, B.getInt64(0)));
    B.CreateRet(B.CreateZExt(isFrag, i32));
    B.SetInsertPoint(st.failBB);
    B.CreateRet(B.getInt32(0));
}

} // namespace mmtc::codegen::detail
