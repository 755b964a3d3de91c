// One IR shape that both the code generator and the display-filter compiler need.
#pragma once

#include <llvm/IR/IRBuilder.h>

#include <functional>

namespace mmtc::ir {

/// `guard and test()` as an i1, where `test` runs (and may read memory) only when `guard`
/// holds: the test is emitted in a block of its own, `testName`, and both ways meet in
/// `joinName`, whose phi is false when the guard failed.
inline llvm::Value* guardedTest(llvm::IRBuilder<>& b, llvm::Function* fn, llvm::Value* guard,
                                const llvm::Twine& testName, const llvm::Twine& joinName,
                                const std::function<llvm::Value*()>& test) {
    llvm::LLVMContext& c = b.getContext();
    llvm::BasicBlock* from = b.GetInsertBlock();
    llvm::BasicBlock* body = llvm::BasicBlock::Create(c, testName, fn);
    llvm::BasicBlock* join = llvm::BasicBlock::Create(c, joinName, fn);
    b.CreateCondBr(guard, body, join);
    b.SetInsertPoint(body);
    llvm::Value* result = test();
    llvm::BasicBlock* bodyEnd = b.GetInsertBlock();
    b.CreateBr(join);
    b.SetInsertPoint(join);
    llvm::PHINode* phi = b.CreatePHI(b.getInt1Ty(), 2);
    phi->addIncoming(llvm::ConstantInt::getFalse(c), from);
    phi->addIncoming(result, bodyEnd);
    return phi;
}

} // namespace mmtc::ir
