// Streams and fragments: the stream and fragment stage functions.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

/// A stage function that fills the struct at its second argument from the assignments of
/// block `b`: it walks `p` as far as their values read, then returns what `fill` returns
/// (0 when the walk fails).
void Lowerer::defineFromBlock(Function* F, const ast::Protocol& p, const ast::Block& b,
                              const std::function<Value*(FnState&, Value* out)>& fill) {
    FnState st = begin(F, p, FailMode::Silent);
    Value* out = F->getArg(1);
    FieldSet need;
    for (const auto& e : b.entries)
        for (auto* x : fieldsOf(p, {e.value.get()})) need.insert(x);
    walkProtocol(st, p, planFor(p, need));
    B.CreateRet(fill(st, out));
    B.SetInsertPoint(st.failBB);
    B.CreateRet(B.getInt32(0));
}

void Lowerer::defineStream(const ast::Protocol& p, ProtoFns& f) {
    const ast::Block& b = *p.stream;
    defineFromBlock(f.stream, p, b, [&](FnState& st, Value* out) {
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
        return B.getInt32(1);
    });
}

void Lowerer::defineFragment(const ast::Protocol& p, ProtoFns& f) {
    const ast::Block& b = *p.fragment;
    defineFromBlock(f.fragment, p, b, [&](FnState& st, Value* out) {
        Value* id = evalInt(st, *b.find("id")->value);
        Value* offset = evalInt(st, *b.find("offset")->value);
        Value* more = evalBool(st, *b.find("more")->value);
        B.CreateStore(id, B.CreateStructGEP(fragTy, out, abi::frag::Id));
        B.CreateStore(B.CreateTrunc(offset, i32),
                      B.CreateStructGEP(fragTy, out, abi::frag::Offset));
        B.CreateStore(B.CreateZExt(more, i32), B.CreateStructGEP(fragTy, out, abi::frag::More));
        Value* isFrag = B.CreateOr(more, B.CreateICmpNE(offset, B.getInt64(0)));
        return B.CreateZExt(isFrag, i32);
    });
}

} // namespace mmtc::codegen::detail
