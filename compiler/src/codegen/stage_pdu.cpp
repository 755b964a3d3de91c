// PDU framing of streams: pdu_length by an expression or by a terminator and body.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

void Lowerer::definePdu(const ast::Protocol& p, ProtoFns& f) {
    if (!p.pduLength) return definePduBody(p, f);
    // Called on reassembled bytes before validate: constraints count here.
    FnState st = begin(f.pdu, p, FailMode::Status);
    st.checkRequires = true;
    walkProtocol(st, p, planFor(p, fieldsOf(p, {p.pduLength->value.get()})));
    Value* n = evalInt(st, *p.pduLength->value);
    B.CreateRet(B.CreateSelect(B.CreateICmpSGT(n, B.getInt64(0)), n, B.getInt64(-1)));
    // Out of bytes: wait for more; anything else: malformed.
    B.SetInsertPoint(st.failTrunc);
    B.CreateRet(B.getInt64(0));
    B.SetInsertPoint(st.failBB);
    B.CreateRet(B.getInt64(-1));
}

/// `pdu until "T"; pdu_body = n;`: a PDU is its head, up to and including T, then n more
/// bytes computed on the head (`payload` is what follows the head so far). A body that
/// cannot be computed is empty; a negative one means its end is not there yet.
void Lowerer::definePduBody(const ast::Protocol& p, ProtoFns& f) {
    FnState st = begin(f.pdu, p, FailMode::Status);
    const std::string& term = *p.pduUntil;
    Value* tlen = B.getInt64(int64_t(term.size()));
    // A negative `n`: the PDU's end is not there yet; return 0 (wait for more) from `wait`
    // and go on in `go`. The caller makes both blocks, in the order the function lists them.
    auto waitIfNegative = [&](Value* n, BasicBlock* wait, BasicBlock* go) {
        B.CreateCondBr(B.CreateICmpSLT(n, B.getInt64(0)), wait, go);
        B.SetInsertPoint(wait);
        B.CreateRet(B.getInt64(0));
        B.SetInsertPoint(go);
    };
    Value* idx = B.CreateCall(hFind, {st.data, st.len, stringConst(term), tlen});
    BasicBlock* found = BasicBlock::Create(C, "head", st.F);
    waitIfNegative(idx, BasicBlock::Create(C, "need.more", st.F), found);
    Value* head = B.CreateAdd(idx, tlen);
    llvm::AllocaInst* headA = entryAlloca(st, i64, "head.len");
    B.CreateStore(head, headA);
    st.headerLen = head;
    st.payloadLen = B.CreateSub(st.len, head);
    walkProtocol(st, p, planFor(p, fieldsOf(p, {p.pduBody->value.get()})));
    Value* body = evalInt(st, *p.pduBody->value);
    BasicBlock* wait = BasicBlock::Create(C, "body.more", st.F);
    waitIfNegative(body, wait, BasicBlock::Create(C, "body.known", st.F));
    B.CreateRet(B.CreateAdd(head, body));
    for (BasicBlock* bb : {st.failTrunc, st.failBB}) {
        B.SetInsertPoint(bb);
        B.CreateRet(B.CreateLoad(i64, headA));
    }
}

} // namespace mmtc::codegen::detail
