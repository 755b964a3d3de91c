// Lowering to LLVM IR. Every protocol becomes a set of stage functions over an
// mmt_ctx (a view of the packet): validate, analyse, one getter per request-based
// attribute, key, sides, classify, pdu_length, update, init_state, stream, fragment.
//
// Structures are parsed by a walker that reads fields in wire order into allocas (which
// mem2reg turns into SSA values). Runs of fixed-size fields share one bounds check.
// Every read is bounds-checked against the region being parsed; failures record a
// status, a reason, the field and its offset, then branch to the function's failure
// block. Expressions are evaluated lazily: a getter walks only as far as the fields its
// value needs, and lists and records are walked again when an expression looks inside.
#include "codegen/lower.h"

#include "sema/sema.h"
#include "mmt/abi.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

namespace mmtc::codegen {

namespace {

using llvm::BasicBlock;
using llvm::Function;
using llvm::Value;
using ast::Expr;
using ast::Field;

constexpr uint64_t kDefaultWeightValue = 100; // `over ... when`, `classify by value`, `classify when`
constexpr uint64_t kDefaultWeightPort = 10;   // port rules: the weakest evidence

/// Storage for one parsed field (allocas, promoted to registers by mem2reg).
struct Slot {
    llvm::AllocaInst* present = nullptr; // i1
    llvm::AllocaInst* val = nullptr;     // i64: integer value
    llvm::AllocaInst* off = nullptr;     // i64: first byte
    llvm::AllocaInst* end = nullptr;     // i64: one past the last byte
    llvm::AllocaInst* count = nullptr;   // i64: list count (Count lists)
    llvm::AllocaInst* region = nullptr;  // i64: end of the region the list or record was parsed in
};
using Scope = std::map<const Field*, Slot>;

/// An evaluated expression.
struct EV {
    enum K { Int, Bool, Bytes, Addr, RecordRef, ListRef, Projection };
    K k = Int;
    Value* v = nullptr;   // Int: i64, Bool: i1, Bytes/Addr: i8*
    Value* len = nullptr; // Bytes: i64
    unsigned addrLen = 0; // Addr: 4, 6 or 16
    ast::Type::Kind addrKind = ast::Type::Ipv4;
    // RecordRef / ListRef
    const ast::Record* rec = nullptr;
    const Field* list = nullptr;
    Value* off = nullptr;
    Value* region = nullptr;
    Value* count = nullptr;
    // Projection: elements of `list` (starting at off), then member steps on each
    std::vector<const Field*> steps;
};

struct FnState {
    Function* F = nullptr;
    Value* ctx = nullptr;
    Value* data = nullptr; // i8*
    Value* len = nullptr;  // i64
    llvm::AllocaInst* failStatus = nullptr;
    llvm::AllocaInst* failReason = nullptr;
    llvm::AllocaInst* failField = nullptr;
    llvm::AllocaInst* failOffset = nullptr;
    BasicBlock* failBB = nullptr;
    BasicBlock* origFail = nullptr;
    std::vector<Scope*> scopes;
    std::vector<std::unique_ptr<Scope>> ownedScopes;
    ast::Protocol* proto = nullptr;
    Value* headerLen = nullptr;  // i64, when known
    Value* payloadLen = nullptr; // i64
};

std::string fnName(const ast::Protocol& p, const std::string& stage) { return p.name + "." + stage; }

class Lowerer {
public:
    Lowerer(sema::SemaContext& sema, llvm::Module& m)
        : S(sema), M(m), C(m.getContext()), B(C) {
        i1 = llvm::Type::getInt1Ty(C);
        i8 = llvm::Type::getInt8Ty(C);
        i16 = llvm::Type::getInt16Ty(C);
        i32 = llvm::Type::getInt32Ty(C);
        i64 = llvm::Type::getInt64Ty(C);
        i8p = llvm::PointerType::getUnqual(i8);
        declareTypes();
        declareHelpers();
    }

    void run() {
        // Protocols in id order, `frame` (id 0) first: the runtime indexes them as given.
        std::vector<ast::Protocol*> protos = S.ordered;
        std::stable_sort(protos.begin(), protos.end(),
                         [](const ast::Protocol* a, const ast::Protocol* b) { return a->id.value_or(0) < b->id.value_or(0); });
        collectRules(protos);
        for (ast::Protocol* p : protos) declareProtocol(*p);
        for (ast::Protocol* p : protos) defineProtocol(*p);
        emitLibrary(protos);
    }

private:
    // ------------------------------------------------------------------ types
    void declareTypes() {
        // Layouts mirror abi.h field for field (checked by a unit test against offsetof).
        ctxTy = llvm::StructType::create(C, "mmt_ctx");
        valueTy = llvm::StructType::create(C, {i32, i32, i64, i8p}, "mmt_value");
        resultTy = llvm::StructType::create(C, {i32, i32, i32, i32, i32, i32, i32, i32}, "mmt_parse_result");
        auto* keySide = llvm::ArrayType::get(i8, MMT_KEY_SIDE_MAX);
        keyTy = llvm::StructType::create(C, {i16, i16, i16, i16, keySide, keySide, keySide}, "mmt_key");
        classTy = llvm::StructType::create(C, {i32, i32}, "mmt_class_result");
        streamTy = llvm::StructType::create(C, {i32, i32}, "mmt_stream_info");
        fragTy = llvm::StructType::create(C, {i64, i32, i32}, "mmt_frag_info");
        ctxPtr = llvm::PointerType::getUnqual(ctxTy);
        emitFnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(C), {ctxPtr, i32, llvm::PointerType::getUnqual(valueTy)}, false);
        ctxTy->setBody({i8p, i32, i32, i32, i32, ctxPtr, i8p, i32, i32, i8p, i64,
                        llvm::PointerType::getUnqual(emitFnTy), i8p});
        attrTy = llvm::StructType::create(C, {i8p, i32, i32, i8p, i32}, "mmt_attr");
        protoTy = llvm::StructType::create(
            C, {i32, i8p, i32, i32, i32, i32, llvm::PointerType::getUnqual(attrTy), i32, llvm::PointerType::getUnqual(i8p),
                i8p, i32, i8p, i8p, i8p, i8p, i8p, i8p, i8p, i8p, i8p, i8p},
            "mmt_proto");
        libTy = llvm::StructType::create(C, {i32, i32, llvm::PointerType::getUnqual(protoTy)}, "mmt_library");

        validateTy = llvm::FunctionType::get(i32, {ctxPtr, llvm::PointerType::getUnqual(resultTy)}, false);
        getterTy = llvm::FunctionType::get(i32, {ctxPtr, llvm::PointerType::getUnqual(valueTy)}, false);
        keyFnTy = llvm::FunctionType::get(i32, {ctxPtr, llvm::PointerType::getUnqual(keyTy)}, false);
        sidesTy = llvm::FunctionType::get(
            i32, {ctxPtr, llvm::PointerType::getUnqual(valueTy), llvm::PointerType::getUnqual(valueTy)}, false);
        classifyTy = llvm::FunctionType::get(
            i32, {ctxPtr, llvm::PointerType::getUnqual(resultTy), llvm::PointerType::getUnqual(classTy)}, false);
        pduTy = llvm::FunctionType::get(i64, {ctxPtr}, false);
        updateTy = llvm::FunctionType::get(llvm::Type::getVoidTy(C), {ctxPtr}, false);
        initTy = llvm::FunctionType::get(llvm::Type::getVoidTy(C), {i8p}, false);
        streamFnTy = llvm::FunctionType::get(i32, {ctxPtr, llvm::PointerType::getUnqual(streamTy)}, false);
        fragFnTy = llvm::FunctionType::get(i32, {ctxPtr, llvm::PointerType::getUnqual(fragTy)}, false);
    }

    void declareHelpers() {
        auto decl = [&](const char* name, llvm::Type* ret, std::vector<llvm::Type*> args) {
            Function* f = Function::Create(llvm::FunctionType::get(ret, args, false), Function::ExternalLinkage, name, M);
            f->addFnAttr(llvm::Attribute::NoUnwind);
            return f;
        };
        hFind = decl("mmt_rt_find", i64, {i8p, i64, i8p, i64});
        hFind->setOnlyReadsMemory();
        hIcase = decl("mmt_rt_icase_eq", i32, {i8p, i8p, i64});
        hIcase->setOnlyReadsMemory();
        hToInt = decl("mmt_rt_to_int", i32, {i8p, i64, llvm::PointerType::getUnqual(i64)});
        hAppend = decl("mmt_rt_scratch_append", i8p, {ctxPtr, i8p, i64});
        hMark = decl("mmt_rt_scratch_mark", i8p, {ctxPtr});
        hMemcmp = decl("memcmp", i32, {i8p, i8p, i64});
        hMemcmp->setOnlyReadsMemory();
    }

    // ------------------------------------------------------------------ rules
    struct Rule {
        const ast::Protocol* owner;  // the protocol whose classify runs the rule
        const ast::Protocol* target;
        uint64_t weight;
        int kindOrder; // value/when rules before port rules at equal weight
        const Expr* when = nullptr;                     // condition in owner's scope
        const Expr* value = nullptr;                    // `classify by value (value) { cases => target }`
        const std::vector<ast::CaseValue>* cases = nullptr;
        bool byPort = false;
        size_t order = 0;
    };

    void collectRules(const std::vector<ast::Protocol*>& protos) {
        size_t order = 0;
        for (ast::Protocol* p : protos) {
            for (const auto& o : p->overs) {
                if (!o.parentProto) continue;
                Rule r{o.parentProto, p, o.weight.value_or(o.byPort ? kDefaultWeightPort : kDefaultWeightValue),
                       o.byPort ? 1 : 0};
                r.when = o.when.get();
                r.byPort = o.byPort;
                r.cases = &o.ports;
                r.order = order++;
                rules[o.parentProto].push_back(r);
            }
            for (const auto& c : p->classifies) {
                bool port = c.kind == ast::Classify::Kind::Port;
                uint64_t w = c.weight.value_or(port ? kDefaultWeightPort : kDefaultWeightValue);
                if (c.kind == ast::Classify::Kind::When) {
                    if (!c.targetProto) continue;
                    Rule r{p, c.targetProto, w, 0};
                    r.when = c.expr.get();
                    r.order = order++;
                    rules[p].push_back(r);
                    continue;
                }
                for (const auto& cc : c.cases) {
                    if (!cc.targetProto) continue;
                    Rule r{p, cc.targetProto, w, port ? 1 : 0};
                    r.value = port ? nullptr : c.expr.get();
                    r.byPort = port;
                    r.cases = &cc.values;
                    r.order = order++;
                    rules[p].push_back(r);
                }
            }
        }
        for (auto& [owner, list] : rules)
            std::stable_sort(list.begin(), list.end(), [](const Rule& a, const Rule& b) {
                if (a.weight != b.weight) return a.weight > b.weight;
                if (a.kindOrder != b.kindOrder) return a.kindOrder < b.kindOrder;
                if (a.target->id != b.target->id) return a.target->id < b.target->id;
                return a.order < b.order;
            });
    }

    // ------------------------------------------------------------------ protocol tables
    struct ProtoFns {
        Function* validate = nullptr;
        Function* analyse = nullptr;
        std::map<const ast::Attribute*, Function*> getters;
        Function* key = nullptr;
        Function* sides = nullptr;
        Function* classify = nullptr;
        Function* pdu = nullptr;
        Function* update = nullptr;
        Function* init = nullptr;
        Function* stream = nullptr;
        Function* fragment = nullptr;
        std::map<const ast::StateVar*, unsigned> stateOffset;
        unsigned stateSize = 0;
        std::map<const ast::Attribute*, unsigned> eventIndex;
    };

    Function* makeFn(llvm::FunctionType* ty, const std::string& name) {
        Function* f = Function::Create(ty, Function::ExternalLinkage, name, M);
        f->addFnAttr(llvm::Attribute::NoUnwind);
        return f;
    }

    bool hasEvents(const ast::Protocol& p) {
        for (const auto& a : p.attributes)
            if (a->isEvent) return true;
        return false;
    }

    const ast::KeyParts* keyOf(const ast::Protocol& p) {
        if (p.key) return &*p.key;
        if (p.session && p.session->key) return &*p.session->key;
        return nullptr;
    }

    void declareProtocol(ast::Protocol& p) {
        ProtoFns& f = fns[&p];
        f.validate = makeFn(validateTy, fnName(p, "validate"));
        if (hasEvents(p) || p.body) f.analyse = makeFn(validateTy, fnName(p, "analyse"));
        unsigned ev = 0;
        for (const auto& a : p.attributes) {
            if (a->isEvent) {
                f.eventIndex[a.get()] = ev++;
                continue;
            }
            f.getters[a.get()] = makeFn(getterTy, fnName(p, "get." + a->name));
        }
        if (p.key || p.session) f.key = makeFn(keyFnTy, fnName(p, "key"));
        if (const ast::KeyParts* k = keyOf(p); k && k->bidirectional && k->a.size() == 1)
            f.sides = makeFn(sidesTy, fnName(p, "sides"));
        if (rules.count(&p)) f.classify = makeFn(classifyTy, fnName(p, "classify"));
        if (p.pduLength) f.pdu = makeFn(pduTy, fnName(p, "pdu_length"));
        unsigned off = 0;
        for (const auto& v : p.state) {
            unsigned size = v->type.kind == ast::Type::Ipv6 ? 16 : 8;
            f.stateOffset[v.get()] = off;
            off += size;
        }
        f.stateSize = off;
        if (!p.updates.empty()) f.update = makeFn(updateTy, fnName(p, "update"));
        if (!p.state.empty()) f.init = makeFn(initTy, fnName(p, "init_state"));
        if (p.stream) f.stream = makeFn(streamFnTy, fnName(p, "stream"));
        if (p.fragment) f.fragment = makeFn(fragFnTy, fnName(p, "fragment"));
    }

    void defineProtocol(ast::Protocol& p) {
        ProtoFns& f = fns[&p];
        defineValidate(p, f);
        if (f.analyse) defineAnalyse(p, f);
        for (auto& [attr, fn] : f.getters) defineGetter(p, *attr, fn);
        if (f.key) defineKey(p, f);
        if (f.sides) defineSides(p, f);
        if (f.classify) defineClassify(p, f);
        if (f.pdu) definePdu(p, f);
        if (f.update) defineUpdate(p, f);
        if (f.init) defineInit(p, f);
        if (f.stream) defineStream(p, f);
        if (f.fragment) defineFragment(p, f);
    }

    // ------------------------------------------------------------------ function scaffolding
    /// Starts a function body; `failBB` receives every walk or evaluation failure.
    FnState begin(Function* F, ast::Protocol& p) {
        FnState st;
        st.F = F;
        st.proto = &p;
        // `entry` holds the allocas and their initial values; code starts in `body`.
        BasicBlock* entry = BasicBlock::Create(C, "entry", F);
        BasicBlock* body = BasicBlock::Create(C, "body", F);
        B.SetInsertPoint(entry);
        st.ctx = F->getArg(0);
        st.data = B.CreateLoad(i8p, B.CreateStructGEP(ctxTy, st.ctx, 0), "data");
        st.len = B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, 1)), i64, "len");
        B.CreateBr(body);
        B.SetInsertPoint(body);
        st.failStatus = entryAlloca(st, i32, "fail.status");
        st.failReason = entryAlloca(st, i32, "fail.reason");
        st.failField = entryAlloca(st, i32, "fail.field");
        st.failOffset = entryAlloca(st, i64, "fail.offset");
        initInEntry(st, B.getInt32(MMT_MALFORMED), st.failStatus);
        initInEntry(st, B.getInt32(MMT_FAIL_NONE), st.failReason);
        initInEntry(st, B.getInt32(uint32_t(-1)), st.failField);
        initInEntry(st, B.getInt64(0), st.failOffset);
        st.failBB = BasicBlock::Create(C, "fail", F);
        st.origFail = st.failBB;
        return st;
    }

    /// Stores an initial value at the end of the entry block, before it jumps to the body.
    void initInEntry(FnState& st, Value* v, Value* ptr) {
        llvm::IRBuilder<> eb(st.F->getEntryBlock().getTerminator());
        eb.CreateStore(v, ptr);
    }

    /// Functions that redirect every failure leave the initial failure block unused.
    void dropUnusedFail(FnState& st) {
        if (st.origFail && st.origFail->hasNPredecessors(0) && st.origFail->empty()) st.origFail->eraseFromParent();
        else if (st.origFail && st.origFail->empty()) {
            llvm::IRBuilder<> fb(st.origFail);
            fb.CreateUnreachable();
        }
    }

    llvm::AllocaInst* entryAlloca(FnState& st, llvm::Type* ty, const char* name) {
        llvm::IRBuilder<> eb(&st.F->getEntryBlock(), st.F->getEntryBlock().begin());
        return eb.CreateAlloca(ty, nullptr, name);
    }

    Slot newSlot(FnState& st, const Field& f) {
        Slot s;
        s.present = entryAlloca(st, i1, (f.name + ".present").c_str());
        s.val = entryAlloca(st, i64, (f.name + ".val").c_str());
        s.off = entryAlloca(st, i64, (f.name + ".off").c_str());
        s.end = entryAlloca(st, i64, (f.name + ".end").c_str());
        s.count = entryAlloca(st, i64, (f.name + ".count").c_str());
        s.region = entryAlloca(st, i64, (f.name + ".region").c_str());
        // Absent until parsed: a field under a condition that never ran reads as absent.
        initInEntry(st, llvm::ConstantInt::getFalse(C), s.present);
        for (llvm::AllocaInst* a : {s.val, s.off, s.end, s.count, s.region}) initInEntry(st, B.getInt64(0), a);
        return s;
    }

    Scope& pushScope(FnState& st) {
        st.ownedScopes.push_back(std::make_unique<Scope>());
        st.scopes.push_back(st.ownedScopes.back().get());
        return *st.scopes.back();
    }

    /// Records a failure and jumps to the current failure block.
    void fail(FnState& st, uint32_t status, uint32_t reason, const Field* f, Value* offset) {
        B.CreateStore(B.getInt32(status), st.failStatus);
        B.CreateStore(B.getInt32(reason), st.failReason);
        B.CreateStore(B.getInt32(f && f->index >= 0 ? uint32_t(f->index) : uint32_t(-1)), st.failField);
        B.CreateStore(offset ? offset : B.getInt64(0), st.failOffset);
        B.CreateBr(st.failBB);
    }

    /// Branches to a failure when `bad` holds; continues in a fresh block otherwise.
    void failIf(FnState& st, Value* bad, uint32_t status, uint32_t reason, const Field* f, Value* offset,
                const char* name = "ok") {
        BasicBlock* failHere = BasicBlock::Create(C, "fail.here", st.F);
        BasicBlock* cont = BasicBlock::Create(C, name, st.F);
        B.CreateCondBr(bad, failHere, cont);
        B.SetInsertPoint(failHere);
        fail(st, status, reason, f, offset);
        B.SetInsertPoint(cont);
    }

    /// An evaluation failure (absent optional value, division by zero...).
    void evalFail(FnState& st) { fail(st, MMT_MALFORMED, MMT_FAIL_ARITHMETIC, nullptr, nullptr); }
    void evalFailIf(FnState& st, Value* bad) {
        failIf(st, bad, MMT_MALFORMED, MMT_FAIL_ARITHMETIC, nullptr, nullptr);
    }

    Value* ptrAt(FnState& st, Value* off) { return B.CreateInBoundsGEP(i8, st.data, off); }

    /// Reads an unsigned integer of `bytes` bytes at `off` (bounds already checked).
    Value* readInt(FnState& st, Value* off, unsigned bytes, ast::ByteOrder order) {
        Value* p = ptrAt(st, off);
        if (bytes == 1) return B.CreateZExt(B.CreateLoad(i8, p), i64);
        if (bytes == 2 || bytes == 4 || bytes == 8) {
            llvm::Type* t = llvm::IntegerType::get(C, bytes * 8);
            llvm::LoadInst* ld = B.CreateAlignedLoad(t, B.CreateBitCast(p, llvm::PointerType::getUnqual(t)), llvm::MaybeAlign(1));
            Value* v = ld;
            if (order == ast::ByteOrder::Big) {
                Function* bswap = llvm::Intrinsic::getDeclaration(&M, llvm::Intrinsic::bswap, {t});
                v = B.CreateCall(bswap, {v});
            }
            return bytes == 8 ? v : B.CreateZExt(v, i64);
        }
        // 3, 5, 6, 7 bytes: assembled byte by byte (the backend merges the loads).
        Value* acc = B.getInt64(0);
        for (unsigned i = 0; i < bytes; ++i) {
            Value* b = B.CreateZExt(B.CreateLoad(i8, B.CreateInBoundsGEP(i8, p, B.getInt64(i))), i64);
            unsigned shift = order == ast::ByteOrder::Big ? 8 * (bytes - 1 - i) : 8 * i;
            acc = B.CreateOr(acc, shift ? B.CreateShl(b, shift) : b);
        }
        return acc;
    }

    ast::ByteOrder orderOf(const Field& f, const ast::Protocol& p) { return f.type.order.value_or(p.byteOrder); }

    // ------------------------------------------------------------------ sizes
    /// Static size in bytes of an unconditional fixed-size field, or 0 when not fixed.
    /// A bit field counts its whole group at its first member and 0 for the others.
    static unsigned fixedSize(const Field& f) {
        if (f.cond || f.isList) return 0;
        switch (f.type.kind) {
        case ast::TypeSpec::Int:
            if (f.isBitField) return f.bitOffset == 0 ? f.groupBits / 8 : 0;
            return f.type.width / 8;
        case ast::TypeSpec::Mac: return 6;
        case ast::TypeSpec::Ipv4: return 4;
        case ast::TypeSpec::Ipv6: return 16;
        case ast::TypeSpec::Bytes:
            if (f.extent == ast::Extent::Count && f.count && f.count->kind == Expr::Kind::Int && f.count->intValue > 0 &&
                f.count->intValue < 65536)
                return unsigned(f.count->intValue);
            return 0;
        default: return 0;
        }
    }
    static bool isFixedItem(const ast::FieldItem& it) {
        if (it.kind == ast::FieldItem::Kind::Requires) return true; // costs no bytes
        if (it.kind != ast::FieldItem::Kind::Field) return false;
        const Field& f = *it.field;
        if (f.type.kind == ast::TypeSpec::Int && f.isBitField && f.bitOffset != 0 && !f.cond) return true;
        return fixedSize(f) > 0;
    }

    // ------------------------------------------------------------------ the walker
    /// Parses items [0, limit) of `items` starting at `off` within [.., end) into `scope`.
    /// Returns the offset after the last item parsed.
    Value* walkItems(FnState& st, const std::vector<ast::FieldItem>& items, size_t limit, Value* off, Value* end,
                     Scope& scope) {
        unsigned prechecked = 0;
        Value* group = nullptr; // value of the current bit group
        limit = std::min(limit, items.size());
        // Every field of this walk starts absent: a loop walks the same record again and
        // again through the same slots, and a field skipped by its condition or by the
        // switch arm taken must not show the previous element's value.
        clearPresence(st, items, limit, scope);
        for (size_t i = 0; i < limit; ++i) {
            const ast::FieldItem& it = items[i];
            if (prechecked == 0 && isFixedItem(it) && it.kind == ast::FieldItem::Kind::Field) {
                // One bounds check for the whole run of fixed-size fields that starts here.
                unsigned run = 0;
                std::vector<std::pair<const Field*, unsigned>> ends;
                for (size_t j = i; j < limit && isFixedItem(items[j]); ++j) {
                    if (items[j].kind != ast::FieldItem::Kind::Field) continue;
                    unsigned sz = fixedSize(*items[j].field);
                    if (sz == 0) continue;
                    run += sz;
                    ends.push_back({items[j].field.get(), run});
                }
                if (run > 0) {
                    emitRunCheck(st, off, end, run, ends);
                    prechecked = run;
                }
            }
            switch (it.kind) {
            case ast::FieldItem::Kind::Requires: {
                Value* ok = evalBoolField(st, *it.requires_);
                failIf(st, B.CreateNot(ok), MMT_MALFORMED, MMT_FAIL_REQUIRES, nullptr, off, "requires.ok");
                break;
            }
            case ast::FieldItem::Kind::Switch: off = walkSwitch(st, *it.sw, off, end, scope); break;
            case ast::FieldItem::Kind::Field:
                off = walkField(st, *it.field, off, end, scope, prechecked, group);
                break;
            }
        }
        return off;
    }

    void clearPresence(FnState& st, const std::vector<ast::FieldItem>& items, size_t limit, Scope& scope) {
        for (size_t i = 0; i < limit && i < items.size(); ++i) {
            const ast::FieldItem& it = items[i];
            if (it.kind == ast::FieldItem::Kind::Field) {
                const Field& f = *it.field;
                if (!scope.count(&f)) scope[&f] = newSlot(st, f);
                B.CreateStore(llvm::ConstantInt::getFalse(C), scope[&f].present);
            } else if (it.kind == ast::FieldItem::Kind::Switch) {
                for (const auto& arm : it.sw->arms) clearPresence(st, arm.items, SIZE_MAX, scope);
            }
        }
    }

    void emitRunCheck(FnState& st, Value* off, Value* end, unsigned run,
                      const std::vector<std::pair<const Field*, unsigned>>& ends) {
        Value* need = B.CreateAdd(off, B.getInt64(run));
        Value* bad = B.CreateICmpUGT(need, end);
        BasicBlock* failHere = BasicBlock::Create(C, "short", st.F);
        BasicBlock* cont = BasicBlock::Create(C, "run.ok", st.F);
        B.CreateCondBr(bad, failHere, cont, llvm::MDBuilder(C).createBranchWeights(1, 1000));
        B.SetInsertPoint(failHere);
        // Cold path: name the first field that does not fit.
        Value* avail = B.CreateSub(end, off);
        Value* field = B.getInt32(uint32_t(-1));
        Value* at = off;
        for (size_t k = ends.size(); k-- > 0;) {
            unsigned startK = k == 0 ? 0 : ends[k - 1].second;
            Value* doesNotFit = B.CreateICmpULT(avail, B.getInt64(ends[k].second));
            int idx = ends[k].first->index;
            // Padding fields have no index; blame the group's first named field instead.
            field = B.CreateSelect(doesNotFit, B.getInt32(uint32_t(idx)), field);
            at = B.CreateSelect(doesNotFit, B.CreateAdd(off, B.getInt64(startK)), at);
        }
        B.CreateStore(B.getInt32(MMT_TRUNCATED), st.failStatus);
        B.CreateStore(B.getInt32(MMT_FAIL_BOUNDS), st.failReason);
        B.CreateStore(field, st.failField);
        B.CreateStore(at, st.failOffset);
        B.CreateBr(st.failBB);
        B.SetInsertPoint(cont);
    }

    /// A bounds check for `n` bytes at `off`, unless a run check already covered them.
    void need(FnState& st, Value* off, Value* end, Value* n, const Field* f, unsigned& prechecked, unsigned staticN) {
        if (staticN && prechecked >= staticN) {
            prechecked -= staticN;
            return;
        }
        prechecked = 0;
        Value* bad = B.CreateICmpUGT(B.CreateAdd(off, n), end);
        failIf(st, bad, MMT_TRUNCATED, MMT_FAIL_BOUNDS, f, off);
    }

    Value* walkField(FnState& st, const Field& f, Value* off, Value* end, Scope& scope, unsigned& prechecked,
                     Value*& group) {
        // The slot was made absent when this walk began (see walkItems).
        auto found = scope.find(&f);
        Slot s = found != scope.end() ? found->second : newSlot(st, f);
        scope[&f] = s;
        if (fixedSize(f) == 0 && !(f.isBitField && f.bitOffset != 0)) prechecked = 0;
        BasicBlock* skipBB = nullptr;
        BasicBlock* joinBB = nullptr;
        Value* offBefore = off;
        BasicBlock* beforeBB = nullptr;
        if (f.cond) {
            Value* c = evalBoolField(st, *f.cond);
            BasicBlock* doBB = BasicBlock::Create(C, f.name + ".if", st.F);
            joinBB = BasicBlock::Create(C, f.name + ".join", st.F);
            beforeBB = B.GetInsertBlock();
            B.CreateCondBr(c, doBB, joinBB);
            B.SetInsertPoint(doBB);
            prechecked = 0;
            (void)skipBB;
        }
        B.CreateStore(llvm::ConstantInt::getTrue(C), s.present);
        B.CreateStore(off, s.off);
        Value* next = off;
        switch (f.type.kind) {
        case ast::TypeSpec::Int: {
            if (f.isList) {
                next = walkList(st, f, s, off, end);
                break;
            }
            if (f.isBitField) {
                unsigned gbytes = f.groupBits / 8;
                if (f.bitOffset == 0) {
                    need(st, off, end, B.getInt64(gbytes), &f, prechecked, gbytes);
                    group = readInt(st, off, gbytes, ast::ByteOrder::Big);
                }
                unsigned shift = f.groupBits - f.bitOffset - f.type.width;
                Value* v = shift ? B.CreateLShr(group, shift) : group;
                if (f.type.width < 64) v = B.CreateAnd(v, B.getInt64((uint64_t(1) << f.type.width) - 1));
                B.CreateStore(v, s.val);
                // The group's bytes are consumed by its last field.
                if (f.bitOffset + f.type.width == f.groupBits) {
                    B.CreateStore(off, s.off);
                    next = B.CreateAdd(off, B.getInt64(gbytes));
                } else {
                    next = off;
                }
                B.CreateStore(next, s.end);
                break;
            }
            unsigned bytes = f.type.width / 8;
            need(st, off, end, B.getInt64(bytes), &f, prechecked, bytes);
            B.CreateStore(readInt(st, off, bytes, orderOf(f, *st.proto)), s.val);
            next = B.CreateAdd(off, B.getInt64(bytes));
            B.CreateStore(next, s.end);
            break;
        }
        case ast::TypeSpec::Mac:
        case ast::TypeSpec::Ipv4:
        case ast::TypeSpec::Ipv6: {
            if (f.isList) {
                next = walkList(st, f, s, off, end);
                break;
            }
            unsigned bytes = f.type.kind == ast::TypeSpec::Mac ? 6 : f.type.kind == ast::TypeSpec::Ipv4 ? 4 : 16;
            need(st, off, end, B.getInt64(bytes), &f, prechecked, bytes);
            next = B.CreateAdd(off, B.getInt64(bytes));
            B.CreateStore(next, s.end);
            break;
        }
        case ast::TypeSpec::Bytes: next = walkBytes(st, f, s, off, end, prechecked); break;
        case ast::TypeSpec::Record: {
            if (f.isList) {
                next = walkList(st, f, s, off, end);
                break;
            }
            prechecked = 0;
            Value* region = end;
            Value* sized = nullptr;
            if (f.size) {
                sized = evalSize(st, *f.size, f, off, end);
                region = B.CreateAdd(off, sized);
            }
            B.CreateStore(region, s.region);
            Scope& inner = pushScope(st);
            Value* recEnd = walkItems(st, f.type.record->items, SIZE_MAX, off, region, inner);
            st.scopes.pop_back();
            next = sized ? region : recEnd;
            B.CreateStore(next, s.end);
            break;
        }
        case ast::TypeSpec::Unknown: break;
        }
        for (const auto& r : f.requires_) {
            Value* ok = evalBoolField(st, *r);
            failIf(st, B.CreateNot(ok), MMT_MALFORMED, MMT_FAIL_REQUIRES, &f, off, "requires.ok");
        }
        if (joinBB) {
            BasicBlock* fromDo = B.GetInsertBlock();
            B.CreateBr(joinBB);
            B.SetInsertPoint(joinBB);
            llvm::PHINode* phi = B.CreatePHI(i64, 2, f.name + ".next");
            phi->addIncoming(offBefore, beforeBB);
            phi->addIncoming(next, fromDo);
            next = phi;
            prechecked = 0;
        }
        return next;
    }

    /// Evaluates a length or size: negative is malformed, beyond the region is truncated.
    Value* evalSize(FnState& st, const Expr& e, const Field& f, Value* off, Value* end) {
        Value* n = evalIntField(st, e);
        failIf(st, B.CreateICmpSLT(n, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH, &f, off, "len.ok");
        failIf(st, B.CreateICmpUGT(n, B.CreateSub(end, off)), MMT_TRUNCATED, MMT_FAIL_BOUNDS, &f, off, "fits");
        return n;
    }

    Value* walkBytes(FnState& st, const Field& f, const Slot& s, Value* off, Value* end, unsigned& prechecked) {
        switch (f.extent) {
        case ast::Extent::Count: {
            Value* n;
            unsigned fixed = fixedSize(f);
            if (fixed) {
                need(st, off, end, B.getInt64(fixed), &f, prechecked, fixed);
                n = B.getInt64(fixed);
            } else {
                prechecked = 0;
                n = evalSize(st, *f.count, f, off, end);
            }
            Value* e = B.CreateAdd(off, n);
            B.CreateStore(e, s.end);
            return e;
        }
        case ast::Extent::UntilString: {
            prechecked = 0;
            Value* window = B.CreateSub(end, off);
            uint64_t tlen = f.terminator.size();
            if (f.max) {
                Value* cap = B.getInt64(int64_t(*f.max + tlen));
                window = B.CreateSelect(B.CreateICmpULT(window, cap), window, cap);
            }
            Value* idx = B.CreateCall(hFind, {ptrAt(st, off), window, stringConst(f.terminator), B.getInt64(int64_t(tlen))});
            Value* notFound = B.CreateICmpSLT(idx, B.getInt64(0));
            if (f.max) {
                // Not found within the cap while more data exists: the cap is broken.
                Value* capped = B.CreateICmpULT(window, B.CreateSub(end, off));
                BasicBlock* nf = BasicBlock::Create(C, "term.missing", st.F);
                BasicBlock* found = BasicBlock::Create(C, "term.found", st.F);
                B.CreateCondBr(notFound, nf, found);
                B.SetInsertPoint(nf);
                BasicBlock* capBB = BasicBlock::Create(C, "term.cap", st.F);
                BasicBlock* truncBB = BasicBlock::Create(C, "term.trunc", st.F);
                B.CreateCondBr(capped, capBB, truncBB);
                B.SetInsertPoint(capBB);
                fail(st, MMT_MALFORMED, MMT_FAIL_CAP, &f, off);
                B.SetInsertPoint(truncBB);
                fail(st, MMT_TRUNCATED, MMT_FAIL_TERMINATOR, &f, off);
                B.SetInsertPoint(found);
            } else {
                failIf(st, notFound, MMT_TRUNCATED, MMT_FAIL_TERMINATOR, &f, off, "term.found");
            }
            Value* valueEnd = B.CreateAdd(off, idx);
            B.CreateStore(valueEnd, s.end);
            return B.CreateAdd(valueEnd, B.getInt64(int64_t(tlen)));
        }
        case ast::Extent::Rest:
        default:
            prechecked = 0;
            B.CreateStore(end, s.end);
            return end;
        }
    }

    /// Runs `body` for each element of a list. The list starts at `start`, lies within
    /// `region`, has `count` elements when counted. Returns the offset after the list.
    /// `body(elemOff, elemEnd, elemScope)` may branch away (to stop early) only through
    /// `exitBB` given back by the caller when it needs to.
    Value* listLoop(FnState& st, const Field& f, Value* start, Value* region, Value* count,
                    const std::function<void(Value* elemOff, Value* elemEnd, Scope* elemScope, BasicBlock* exitBB)>& body) {
        llvm::AllocaInst* offA = entryAlloca(st, i64, (f.name + ".it.off").c_str());
        llvm::AllocaInst* idxA = entryAlloca(st, i64, (f.name + ".it.idx").c_str());
        B.CreateStore(start, offA);
        B.CreateStore(B.getInt64(0), idxA);
        BasicBlock* head = BasicBlock::Create(C, f.name + ".head", st.F);
        BasicBlock* exitBB = BasicBlock::Create(C, f.name + ".done", st.F);
        B.CreateBr(head);
        B.SetInsertPoint(head);
        Value* off = B.CreateLoad(i64, offA);
        Value* idx = B.CreateLoad(i64, idxA);
        auto exitIf = [&](Value* cond, const char* name) {
            BasicBlock* cont = BasicBlock::Create(C, name, st.F);
            B.CreateCondBr(cond, exitBB, cont);
            B.SetInsertPoint(cont);
        };
        switch (f.extent) {
        case ast::Extent::Count: exitIf(B.CreateICmpSGE(idx, count), "more"); break;
        case ast::Extent::Size:
        case ast::Extent::Rest: exitIf(B.CreateICmpUGE(off, region), "more"); break;
        case ast::Extent::UntilString: {
            uint64_t tlen = f.terminator.size();
            Value* room = B.CreateICmpULE(B.CreateAdd(off, B.getInt64(int64_t(tlen))), region);
            BasicBlock* cmpBB = BasicBlock::Create(C, "term.cmp", st.F);
            BasicBlock* noTerm = BasicBlock::Create(C, "term.no", st.F);
            BasicBlock* atTerm = BasicBlock::Create(C, "term.yes", st.F);
            B.CreateCondBr(room, cmpBB, noTerm);
            B.SetInsertPoint(cmpBB);
            Value* eq = B.CreateICmpEQ(B.CreateCall(hMemcmp, {ptrAt(st, off), stringConst(f.terminator), B.getInt64(int64_t(tlen))}),
                                       B.getInt32(0));
            B.CreateCondBr(eq, atTerm, noTerm);
            B.SetInsertPoint(atTerm);
            B.CreateStore(B.CreateAdd(off, B.getInt64(int64_t(tlen))), offA);
            B.CreateBr(exitBB);
            B.SetInsertPoint(noTerm);
            // No terminator and no data left: the list is cut short.
            failIf(st, B.CreateICmpUGE(off, region), MMT_TRUNCATED, MMT_FAIL_TERMINATOR, &f, off, "elem");
            break;
        }
        case ast::Extent::UntilExpr:
            failIf(st, B.CreateICmpUGE(off, region), MMT_TRUNCATED, MMT_FAIL_TERMINATOR, &f, off, "elem");
            break;
        case ast::Extent::Single: break;
        }
        if (f.max) failIf(st, B.CreateICmpUGE(idx, B.getInt64(int64_t(*f.max))), MMT_MALFORMED, MMT_FAIL_CAP, &f, off, "capped");
        // One element.
        Value* elemEnd = nullptr;
        Scope* elemScope = nullptr;
        if (f.type.kind == ast::TypeSpec::Record) {
            elemScope = &pushScope(st);
            elemEnd = walkItems(st, f.type.record->items, SIZE_MAX, off, region, *elemScope);
        } else {
            unsigned bytes = f.type.kind == ast::TypeSpec::Int    ? f.type.width / 8
                             : f.type.kind == ast::TypeSpec::Mac  ? 6
                             : f.type.kind == ast::TypeSpec::Ipv4 ? 4
                                                                  : 16;
            unsigned pre = 0;
            need(st, off, region, B.getInt64(bytes), &f, pre, 0);
            elemEnd = B.CreateAdd(off, B.getInt64(bytes));
        }
        body(off, elemEnd, elemScope, exitBB);
        Value* stop = nullptr;
        if (f.extent == ast::Extent::UntilExpr) stop = evalBoolField(st, *f.until);
        if (elemScope) st.scopes.pop_back();
        B.CreateStore(elemEnd, offA);
        B.CreateStore(B.CreateAdd(idx, B.getInt64(1)), idxA);
        if (stop) B.CreateCondBr(stop, exitBB, head);
        else B.CreateBr(head);
        B.SetInsertPoint(exitBB);
        return B.CreateLoad(i64, offA);
    }

    Value* walkList(FnState& st, const Field& f, const Slot& s, Value* off, Value* end) {
        Value* region = end;
        Value* sized = nullptr;
        if (f.size) {
            sized = evalSize(st, *f.size, f, off, end);
            region = B.CreateAdd(off, sized);
        }
        Value* count = B.getInt64(0);
        if (f.extent == ast::Extent::Count) {
            count = evalIntField(st, *f.count);
            failIf(st, B.CreateICmpSLT(count, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH, &f, off, "count.ok");
        }
        B.CreateStore(region, s.region);
        B.CreateStore(count, s.count);
        Value* listEnd = listLoop(st, f, off, region, count, [](Value*, Value*, Scope*, BasicBlock*) {});
        Value* next = sized ? region : listEnd;
        B.CreateStore(next, s.end);
        return next;
    }

    Value* walkSwitch(FnState& st, const ast::Switch& sw, Value* off, Value* end, Scope& scope) {
        Value* sel = evalIntField(st, *sw.selector);
        Value* region = end;
        Value* sized = nullptr;
        if (sw.size) {
            Value* n = evalIntField(st, *sw.size);
            failIf(st, B.CreateICmpSLT(n, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH, nullptr, off, "len.ok");
            failIf(st, B.CreateICmpUGT(n, B.CreateSub(end, off)), MMT_TRUNCATED, MMT_FAIL_BOUNDS, nullptr, off, "fits");
            sized = n;
            region = B.CreateAdd(off, n);
        }
        BasicBlock* join = BasicBlock::Create(C, "switch.end", st.F);
        std::vector<std::pair<BasicBlock*, Value*>> incoming;
        const ast::SwitchArm* dflt = nullptr;
        for (const auto& arm : sw.arms) {
            if (arm.isDefault) {
                dflt = &arm;
                continue;
            }
            Value* match = llvm::ConstantInt::getFalse(C);
            for (const auto& cv : arm.values) match = B.CreateOr(match, inCase(sel, cv));
            BasicBlock* armBB = BasicBlock::Create(C, "case", st.F);
            BasicBlock* nextBB = BasicBlock::Create(C, "case.next", st.F);
            B.CreateCondBr(match, armBB, nextBB);
            B.SetInsertPoint(armBB);
            Value* o = walkItems(st, arm.items, SIZE_MAX, off, region, scope);
            incoming.push_back({B.GetInsertBlock(), o});
            B.CreateBr(join);
            B.SetInsertPoint(nextBB);
        }
        Value* o = off;
        if (dflt) o = walkItems(st, dflt->items, SIZE_MAX, off, region, scope);
        incoming.push_back({B.GetInsertBlock(), o});
        B.CreateBr(join);
        B.SetInsertPoint(join);
        llvm::PHINode* phi = B.CreatePHI(i64, unsigned(incoming.size()), "switch.off");
        for (auto& [bb, v] : incoming) phi->addIncoming(v, bb);
        return sized ? region : static_cast<Value*>(phi);
    }

    Value* inCase(Value* x, const ast::CaseValue& cv) {
        if (cv.lo == cv.hi) return B.CreateICmpEQ(x, B.getInt64(cv.lo));
        return B.CreateAnd(B.CreateICmpUGE(x, B.getInt64(cv.lo)), B.CreateICmpULE(x, B.getInt64(cv.hi)));
    }

    // ------------------------------------------------------------------ walking a protocol
    /// Which top-level items of header and body must be walked for the fields in `need`.
    struct WalkPlan {
        size_t headerItems = 0;
        size_t bodyItems = 0;
    };

    static bool containsField(const std::vector<ast::FieldItem>& items, const Field* f) {
        for (const auto& it : items) {
            if (it.kind == ast::FieldItem::Kind::Field && it.field.get() == f) return true;
            if (it.kind == ast::FieldItem::Kind::Switch)
                for (const auto& arm : it.sw->arms)
                    if (containsField(arm.items, f)) return true;
        }
        return false;
    }

    WalkPlan planFor(const ast::Protocol& p, const std::set<const Field*>& need) {
        WalkPlan plan;
        auto scan = [&](const ast::Record* r, size_t& out) {
            if (!r) return;
            for (size_t i = 0; i < r->items.size(); ++i)
                for (const Field* f : need)
                    if ((r->items[i].kind == ast::FieldItem::Kind::Field && r->items[i].field.get() == f) ||
                        (r->items[i].kind == ast::FieldItem::Kind::Switch && containsSwitch(*r->items[i].sw, f)))
                        out = std::max(out, i + 1);
        };
        scan(p.header.get(), plan.headerItems);
        scan(p.body.get(), plan.bodyItems);
        if (plan.bodyItems > 0 && p.header) plan.headerItems = p.header->items.size();
        return plan;
    }
    static bool containsSwitch(const ast::Switch& sw, const Field* f) {
        for (const auto& arm : sw.arms)
            if (containsField(arm.items, f)) return true;
        return false;
    }

    /// Fields of header and body named (directly or through values) by expressions.
    void collectFields(const ast::Protocol& p, const Expr& e, std::set<const Field*>& out, std::set<const ast::Let*>& seen) {
        for (const auto& o : e.operands) collectFields(p, *o, out, seen);
        if (e.kind == Expr::Kind::Name && (e.ref.kind == ast::Ref::Field || e.ref.kind == ast::Ref::BitName)) {
            const Field* f = e.ref.field;
            if (f->owner == p.header.get() || (p.body && f->owner == p.body.get())) out.insert(f);
        } else if (e.kind == Expr::Kind::Name && e.ref.kind == ast::Ref::Let && e.ref.let && seen.insert(e.ref.let).second) {
            collectFields(p, *e.ref.let->value, out, seen);
        }
    }
    std::set<const Field*> fieldsOf(const ast::Protocol& p, std::initializer_list<const Expr*> exprs) {
        std::set<const Field*> out;
        std::set<const ast::Let*> seen;
        for (const Expr* e : exprs)
            if (e) collectFields(p, *e, out, seen);
        return out;
    }

    static bool usesPayload(const Expr& e, std::set<const ast::Let*>& seen) {
        if (e.ref.kind == ast::Ref::Payload) return true;
        if (e.kind == Expr::Kind::Name && e.ref.kind == ast::Ref::Let && e.ref.let && seen.insert(e.ref.let).second &&
            usesPayload(*e.ref.let->value, seen))
            return true;
        for (const auto& o : e.operands)
            if (usesPayload(*o, seen)) return true;
        return false;
    }

    /// Walks header then body as far as `plan` says, into one protocol scope.
    void walkProtocol(FnState& st, const ast::Protocol& p, const WalkPlan& plan, Value** endOut = nullptr,
                      bool* bodyWalked = nullptr) {
        Scope& scope = pushScope(st);
        Value* off = B.getInt64(0);
        if (p.header && plan.headerItems) off = walkItems(st, p.header->items, plan.headerItems, off, st.len, scope);
        if (p.body && plan.bodyItems) off = walkItems(st, p.body->items, plan.bodyItems, off, st.len, scope);
        if (endOut) *endOut = off;
        if (bodyWalked) *bodyWalked = plan.bodyItems > 0;
    }

    /// Computes header_len / payload_len by calling the protocol's own validate.
    void lengthsViaValidate(FnState& st, const ast::Protocol& p) {
        if (p.builtin) {
            st.headerLen = B.getInt64(0);
            st.payloadLen = st.len;
            return;
        }
        llvm::AllocaInst* res = entryAlloca(st, resultTy, "lengths");
        Value* status = B.CreateCall(fns[&p].validate, {st.ctx, res});
        evalFailIf(st, B.CreateICmpNE(status, B.getInt32(MMT_OK)));
        st.headerLen = B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(resultTy, res, 4)), i64);
        st.payloadLen = B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(resultTy, res, 5)), i64);
    }

    // ------------------------------------------------------------------ stage functions
    void storeResult(Value* res, unsigned idx, Value* v) { B.CreateStore(v, B.CreateStructGEP(resultTy, res, idx)); }

    /// The failure block of validate/analyse: copy the failure into the result, return its status.
    void finishFailToResult(FnState& st, Value* res) {
        B.SetInsertPoint(st.failBB);
        Value* status = B.CreateLoad(i32, st.failStatus);
        storeResult(res, 0, status);
        storeResult(res, 1, B.CreateLoad(i32, st.failReason));
        storeResult(res, 2, B.CreateLoad(i32, st.failField));
        storeResult(res, 3, B.CreateTrunc(B.CreateLoad(i64, st.failOffset), i32));
        B.CreateRet(status);
    }

    void defineValidate(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.validate, p);
        Value* res = f.validate->getArg(1);
        storeResult(res, 0, B.getInt32(MMT_OK));
        storeResult(res, 1, B.getInt32(MMT_FAIL_NONE));
        storeResult(res, 2, B.getInt32(uint32_t(-1)));
        storeResult(res, 3, B.getInt32(0));
        storeResult(res, 6, B.getInt32(0));
        storeResult(res, 7, B.getInt32(0));
        if (p.builtin) {
            storeResult(res, 4, B.getInt32(0));
            storeResult(res, 5, B.CreateTrunc(st.len, i32));
            B.CreateRet(B.getInt32(MMT_OK));
            finishFailToResult(st, res);
            return;
        }
        WalkPlan plan;
        plan.headerItems = p.header ? p.header->items.size() : 0;
        std::set<const Field*> lenFields = fieldsOf(p, {p.headerLength ? p.headerLength->value.get() : nullptr,
                                                       p.payloadLength ? p.payloadLength->value.get() : nullptr});
        WalkPlan extra = planFor(p, lenFields);
        plan.bodyItems = extra.bodyItems;
        Value* walked = nullptr;
        walkProtocol(st, p, plan, &walked);
        Value* hl = walked;
        if (plan.bodyItems) hl = nullptr;
        if (p.headerLength) {
            hl = evalIntField(st, *p.headerLength->value);
            failIf(st, B.CreateICmpSLT(hl, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH, nullptr, B.getInt64(0), "hl.ok");
            if (!plan.bodyItems)
                failIf(st, B.CreateICmpULT(hl, walked), MMT_MALFORMED, MMT_FAIL_LENGTH, nullptr, B.getInt64(0), "hl.covers");
            failIf(st, B.CreateICmpUGT(hl, st.len), MMT_TRUNCATED, MMT_FAIL_BOUNDS, nullptr, B.getInt64(0), "hl.fits");
        } else if (!hl) {
            // Lengths that needed the body: the header is what the header walk covers.
            Scope& scope = pushScope(st);
            hl = p.header ? walkItems(st, p.header->items, SIZE_MAX, B.getInt64(0), st.len, scope) : B.getInt64(0);
        }
        Value* avail = B.CreateSub(st.len, hl);
        Value* pl = avail;
        Value* truncated = B.getInt32(0);
        if (p.payloadLength) {
            Value* want = evalIntField(st, *p.payloadLength->value);
            failIf(st, B.CreateICmpSLT(want, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH, nullptr, hl, "pl.ok");
            Value* over = B.CreateICmpUGT(want, avail);
            pl = B.CreateSelect(over, avail, want);
            truncated = B.CreateZExt(over, i32);
        }
        storeResult(res, 4, B.CreateTrunc(hl, i32));
        storeResult(res, 5, B.CreateTrunc(pl, i32));
        storeResult(res, 6, truncated);
        B.CreateRet(B.getInt32(MMT_OK));
        finishFailToResult(st, res);
    }

    void defineAnalyse(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.analyse, p);
        Value* res = f.analyse->getArg(1);
        storeResult(res, 0, B.getInt32(MMT_OK));
        storeResult(res, 1, B.getInt32(MMT_FAIL_NONE));
        storeResult(res, 2, B.getInt32(uint32_t(-1)));
        storeResult(res, 3, B.getInt32(0));
        WalkPlan plan;
        plan.headerItems = p.header ? p.header->items.size() : 0;
        plan.bodyItems = p.body ? p.body->items.size() : 0;
        walkProtocol(st, p, plan);
        bool needPayload = false;
        for (const auto& a : p.attributes) {
            if (!a->isEvent) continue;
            std::set<const ast::Let*> seen;
            for (const Expr* e : {a->value.get(), a->on.get(), a->cond.get()})
                if (e && usesPayload(*e, seen)) needPayload = true;
        }
        if (needPayload) lengthsViaValidate(st, p);
        Value* wanted = B.CreateLoad(i64, B.CreateStructGEP(ctxTy, st.ctx, 10));
        Value* emitFn = B.CreateLoad(llvm::PointerType::getUnqual(emitFnTy), B.CreateStructGEP(ctxTy, st.ctx, 11));
        llvm::AllocaInst* val = entryAlloca(st, valueTy, "event");
        BasicBlock* realFail = st.failBB;
        for (const auto& a : p.attributes) {
            if (!a->isEvent) continue;
            unsigned bit = f.eventIndex[a.get()];
            BasicBlock* doBB = BasicBlock::Create(C, a->name + ".wanted", st.F);
            BasicBlock* nextBB = BasicBlock::Create(C, a->name + ".next", st.F);
            Value* on = B.CreateICmpNE(B.CreateAnd(wanted, B.getInt64(uint64_t(1) << bit)), B.getInt64(0));
            B.CreateCondBr(on, doBB, nextBB);
            B.SetInsertPoint(doBB);
            // A failure while raising an event skips that occurrence, never the packet.
            st.failBB = nextBB;
            auto raise = [&](BasicBlock* skip) {
                BasicBlock* saved = st.failBB;
                st.failBB = skip;
                if (a->cond) {
                    Value* c = evalBool(st, *a->cond);
                    BasicBlock* yes = BasicBlock::Create(C, "cond.yes", st.F);
                    B.CreateCondBr(c, yes, skip);
                    B.SetInsertPoint(yes);
                }
                EV v = a->value ? eval(st, *a->value) : EV{};
                fillValue(st, val, v, a->type);
                B.CreateCall(emitFnTy, emitFn, {st.ctx, B.getInt32(uint32_t(a->index)), val});
                B.CreateBr(skip);
                st.failBB = saved;
            };
            if (a->on) {
                EV list = eval(st, *a->on);
                forEachElement(st, list, [&](EV elem, Scope* elemScope, BasicBlock* cont) {
                    if (elemScope) st.scopes.push_back(elemScope);
                    if (!a->value) {
                        BasicBlock* saved = st.failBB;
                        st.failBB = cont;
                        fillValue(st, val, elem, a->type);
                        B.CreateCall(emitFnTy, emitFn, {st.ctx, B.getInt32(uint32_t(a->index)), val});
                        B.CreateBr(cont);
                        st.failBB = saved;
                    } else {
                        raise(cont);
                    }
                    if (elemScope) st.scopes.pop_back();
                });
                B.CreateBr(nextBB);
            } else {
                raise(nextBB);
            }
            B.SetInsertPoint(nextBB);
        }
        st.failBB = realFail;
        B.CreateRet(B.getInt32(MMT_OK));
        finishFailToResult(st, res);
    }

    /// Stores an evaluated value into an mmt_value of the attribute's type.
    void fillValue(FnState& st, Value* out, const EV& v, const ast::Type& t) {
        auto field = [&](unsigned i) { return B.CreateStructGEP(valueTy, out, i); };
        uint32_t type = MMT_T_NONE;
        switch (t.kind) {
        case ast::Type::Int: type = MMT_T_UINT; break;
        case ast::Type::Bool: type = MMT_T_BOOL; break;
        case ast::Type::Bytes: type = MMT_T_BYTES; break;
        case ast::Type::String: type = MMT_T_STRING; break;
        case ast::Type::Mac: type = MMT_T_MAC; break;
        case ast::Type::Ipv4: type = MMT_T_IPV4; break;
        case ast::Type::Ipv6: type = MMT_T_IPV6; break;
        default: break;
        }
        B.CreateStore(B.getInt32(type), field(0));
        B.CreateStore(B.getInt32(0), field(1));
        B.CreateStore(B.getInt64(0), field(2));
        B.CreateStore(llvm::ConstantPointerNull::get(i8p), field(3));
        switch (v.k) {
        case EV::Int: {
            Value* x = v.v;
            if (t.kind == ast::Type::Int && t.width < 64) x = B.CreateAnd(x, B.getInt64((uint64_t(1) << t.width) - 1));
            B.CreateStore(x, field(2));
            break;
        }
        case EV::Bool: B.CreateStore(B.CreateZExt(v.v, i64), field(2)); break;
        case EV::Bytes:
            B.CreateStore(v.v, field(3));
            B.CreateStore(B.CreateTrunc(v.len, i32), field(1));
            break;
        case EV::Addr:
            B.CreateStore(v.v, field(3));
            B.CreateStore(B.getInt32(v.addrLen), field(1));
            break;
        default: evalFail(st); B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F)); break;
        }
    }

    void defineGetter(ast::Protocol& p, const ast::Attribute& a, Function* fn) {
        FnState st = begin(fn, p);
        std::set<const Field*> need = fieldsOf(p, {a.value.get(), a.cond.get()});
        walkProtocol(st, p, planFor(p, need));
        std::set<const ast::Let*> seen;
        bool payload = (a.value && usesPayload(*a.value, seen)) || (a.cond && usesPayload(*a.cond, seen));
        if (payload) lengthsViaValidate(st, p);
        if (a.cond) {
            Value* c = evalBool(st, *a.cond);
            BasicBlock* yes = BasicBlock::Create(C, "present", st.F);
            B.CreateCondBr(c, yes, st.failBB);
            B.SetInsertPoint(yes);
        }
        EV v = eval(st, *a.value);
        fillValue(st, fn->getArg(1), v, a.type);
        B.CreateRet(B.getInt32(1));
        B.SetInsertPoint(st.failBB);
        B.CreateRet(B.getInt32(0));
    }

    /// Appends a key part to one side of the key (0 shared, 1 a, 2 b), big-endian.
    void appendKey(FnState& st, Value* key, unsigned side, const EV& v, const ast::Type& t) {
        unsigned lenIdx = side == 0 ? 0 : side == 1 ? 1 : 2;
        unsigned bufIdx = 4 + side;
        Value* lenPtr = B.CreateStructGEP(keyTy, key, lenIdx);
        Value* cur = B.CreateZExt(B.CreateLoad(i16, lenPtr), i64);
        unsigned n = 0;
        Value* src = nullptr;
        llvm::AllocaInst* tmp = entryAlloca(st, i64, "keypart");
        switch (v.k) {
        case EV::Int: {
            n = t.isInt() ? (t.width + 7) / 8 : 8;
            Value* x = v.v;
            Function* bswap = llvm::Intrinsic::getDeclaration(&M, llvm::Intrinsic::bswap, {i64});
            x = B.CreateCall(bswap, {x});
            B.CreateStore(x, tmp);
            src = B.CreateInBoundsGEP(i8, B.CreateBitCast(tmp, i8p), B.getInt64(8 - n));
            break;
        }
        case EV::Bool:
            n = 1;
            B.CreateStore(B.CreateZExt(v.v, i64), tmp);
            src = B.CreateBitCast(tmp, i8p);
            break;
        case EV::Addr:
            n = v.addrLen;
            src = v.v;
            break;
        default: evalFail(st); B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F)); return;
        }
        Value* fits = B.CreateICmpULE(B.CreateAdd(cur, B.getInt64(n)), B.getInt64(MMT_KEY_SIDE_MAX));
        BasicBlock* ok = BasicBlock::Create(C, "key.fits", st.F);
        BasicBlock* over = BasicBlock::Create(C, "key.overflow", st.F);
        BasicBlock* done = BasicBlock::Create(C, "key.part", st.F);
        B.CreateCondBr(fits, ok, over);
        B.SetInsertPoint(over);
        B.CreateStore(B.getInt16(1), B.CreateStructGEP(keyTy, key, 3));
        B.CreateBr(done);
        B.SetInsertPoint(ok);
        Value* dst = B.CreateInBoundsGEP(i8, B.CreateBitCast(B.CreateStructGEP(keyTy, key, bufIdx), i8p), cur);
        B.CreateMemCpy(dst, llvm::MaybeAlign(1), src, llvm::MaybeAlign(1), n);
        B.CreateStore(B.CreateTrunc(B.CreateAdd(cur, B.getInt64(n)), i16), lenPtr);
        B.CreateBr(done);
        B.SetInsertPoint(done);
    }

    void defineKey(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.key, p);
        Value* key = f.key->getArg(1);
        const ast::KeyParts* k = keyOf(p);
        std::set<const Field*> need;
        if (k) {
            for (const auto& e : k->a) for (auto* x : fieldsOf(p, {e.get()})) need.insert(x);
            for (const auto& e : k->b) for (auto* x : fieldsOf(p, {e.get()})) need.insert(x);
        }
        walkProtocol(st, p, planFor(p, need));
        // The protocol id first: an IPv4 flow and an IPv6 flow never share a key.
        EV id;
        id.k = EV::Int;
        id.v = B.getInt64(*p.id);
        appendKey(st, key, 0, id, ast::Type::integer(16));
        if (k) {
            // Evaluate every part before appending any, so a failure leaves the key untouched.
            std::vector<std::pair<EV, const ast::Type*>> a, b;
            for (const auto& e : k->a) a.push_back({eval(st, *e), &e->type});
            for (const auto& e : k->b) b.push_back({eval(st, *e), &e->type});
            for (auto& [v, t] : a) appendKey(st, key, k->bidirectional ? 1 : 0, v, *t);
            for (auto& [v, t] : b) appendKey(st, key, 2, v, *t);
        }
        B.CreateRet(B.getInt32(1));
        B.SetInsertPoint(st.failBB);
        B.CreateRet(B.getInt32(0));
    }

    void defineSides(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.sides, p);
        const ast::KeyParts* k = keyOf(p);
        walkProtocol(st, p, planFor(p, fieldsOf(p, {k->a[0].get(), k->b[0].get()})));
        EV a = eval(st, *k->a[0]);
        EV b = eval(st, *k->b[0]);
        fillValue(st, f.sides->getArg(1), a, k->a[0]->type);
        fillValue(st, f.sides->getArg(2), b, k->b[0]->type);
        B.CreateRet(B.getInt32(1));
        B.SetInsertPoint(st.failBB);
        B.CreateRet(B.getInt32(0));
    }

    void defineClassify(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.classify, p);
        Value* res = f.classify->getArg(1);
        Value* out = f.classify->getArg(2);
        std::vector<Rule>& list = rules[&p];
        std::set<const Field*> need;
        for (const Rule& r : list) {
            for (auto* x : fieldsOf(p, {r.when, r.value})) need.insert(x);
            if (r.byPort && p.ports)
                for (auto* x : fieldsOf(p, {p.ports->src.get(), p.ports->dst.get()})) need.insert(x);
        }
        // A header that cannot be walked classifies nothing.
        BasicBlock* noMatch = BasicBlock::Create(C, "nomatch", st.F);
        st.failBB = noMatch;
        walkProtocol(st, p, planFor(p, need));
        if (p.builtin) {
            st.headerLen = B.getInt64(0);
            st.payloadLen = st.len;
        } else {
            st.headerLen = B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(resultTy, res, 4)), i64);
            st.payloadLen = B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(resultTy, res, 5)), i64);
        }
        Value* srcPort = nullptr;
        Value* dstPort = nullptr;
        for (const Rule& r : list) {
            BasicBlock* next = BasicBlock::Create(C, "rule.next", st.F);
            st.failBB = next; // a rule that cannot be evaluated does not match
            Value* match = nullptr;
            if (r.byPort) {
                if (!srcPort) {
                    // Ports are read once, before the first port rule, on the path every rule takes.
                    BasicBlock* portsFail = next;
                    st.failBB = portsFail;
                    srcPort = evalInt(st, *p.ports->src);
                    dstPort = evalInt(st, *p.ports->dst);
                }
                match = llvm::ConstantInt::getFalse(C);
                for (const auto& cv : *r.cases) match = B.CreateOr(match, B.CreateOr(inCase(srcPort, cv), inCase(dstPort, cv)));
            } else if (r.value) {
                Value* x = evalInt(st, *r.value);
                match = llvm::ConstantInt::getFalse(C);
                for (const auto& cv : *r.cases) match = B.CreateOr(match, inCase(x, cv));
            } else {
                match = evalBool(st, *r.when);
            }
            BasicBlock* hit = BasicBlock::Create(C, "rule.hit", st.F);
            B.CreateCondBr(match, hit, next);
            B.SetInsertPoint(hit);
            B.CreateStore(B.getInt32(uint32_t(*r.target->id)), B.CreateStructGEP(classTy, out, 0));
            B.CreateStore(B.getInt32(uint32_t(r.weight)), B.CreateStructGEP(classTy, out, 1));
            B.CreateRet(B.getInt32(1));
            B.SetInsertPoint(next);
            if (r.byPort && srcPort) {
                // Later port rules reuse the values only where they dominate: re-read them.
                srcPort = nullptr;
                dstPort = nullptr;
            }
        }
        B.CreateBr(noMatch);
        B.SetInsertPoint(noMatch);
        B.CreateRet(B.getInt32(0));
        dropUnusedFail(st);
    }

    void definePdu(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.pdu, p);
        walkProtocol(st, p, planFor(p, fieldsOf(p, {p.pduLength->value.get()})));
        Value* n = evalInt(st, *p.pduLength->value);
        B.CreateRet(B.CreateSelect(B.CreateICmpSGT(n, B.getInt64(0)), n, B.getInt64(-1)));
        // Out of bytes: wait for more; anything else: malformed.
        B.SetInsertPoint(st.failBB);
        Value* status = B.CreateLoad(i32, st.failStatus);
        B.CreateRet(B.CreateSelect(B.CreateICmpEQ(status, B.getInt32(MMT_TRUNCATED)), B.getInt64(0), B.getInt64(-1)));
    }

    Value* statePtr(FnState& st, const ast::StateVar* v) {
        Value* base = B.CreateLoad(i8p, B.CreateStructGEP(ctxTy, st.ctx, 9));
        return B.CreateInBoundsGEP(i8, base, B.getInt64(fns[st.proto].stateOffset[v]));
    }

    void storeState(FnState& st, Value* ptr, const EV& v, const ast::Type& t) {
        switch (v.k) {
        case EV::Int: {
            Value* x = v.v;
            if (t.isInt() && t.width < 64) x = B.CreateAnd(x, B.getInt64((uint64_t(1) << t.width) - 1));
            B.CreateStore(x, B.CreateBitCast(ptr, llvm::PointerType::getUnqual(i64)));
            break;
        }
        case EV::Bool: B.CreateStore(B.CreateZExt(v.v, i64), B.CreateBitCast(ptr, llvm::PointerType::getUnqual(i64))); break;
        case EV::Addr: B.CreateMemCpy(ptr, llvm::MaybeAlign(1), v.v, llvm::MaybeAlign(1), v.addrLen); break;
        default: break;
        }
    }

    void defineUpdate(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.update, p);
        BasicBlock* done = BasicBlock::Create(C, "done", st.F);
        Value* state = B.CreateLoad(i8p, B.CreateStructGEP(ctxTy, st.ctx, 9));
        BasicBlock* has = BasicBlock::Create(C, "has.state", st.F);
        B.CreateCondBr(B.CreateIsNull(state), done, has);
        B.SetInsertPoint(has);
        std::set<const Field*> need;
        bool payload = false;
        for (const auto& u : p.updates) {
            for (auto* x : fieldsOf(p, {u.value.get(), u.cond.get()})) need.insert(x);
            std::set<const ast::Let*> seen;
            if (usesPayload(*u.value, seen) || (u.cond && usesPayload(*u.cond, seen))) payload = true;
        }
        st.failBB = done;
        walkProtocol(st, p, planFor(p, need));
        if (payload) lengthsViaValidate(st, p);
        for (const auto& u : p.updates) {
            if (!u.target) continue;
            BasicBlock* next = BasicBlock::Create(C, "update.next", st.F);
            st.failBB = next;
            if (u.cond) {
                Value* c = evalBool(st, *u.cond);
                BasicBlock* yes = BasicBlock::Create(C, "update.do", st.F);
                B.CreateCondBr(c, yes, next);
                B.SetInsertPoint(yes);
            }
            EV v = eval(st, *u.value);
            storeState(st, statePtr(st, u.target), v, u.target->type);
            B.CreateBr(next);
            B.SetInsertPoint(next);
        }
        B.CreateBr(done);
        B.SetInsertPoint(done);
        B.CreateRetVoid();
        dropUnusedFail(st);
    }

    void defineInit(ast::Protocol& p, ProtoFns& f) {
        Function* F = f.init;
        BasicBlock* entry = BasicBlock::Create(C, "entry", F);
        B.SetInsertPoint(entry);
        Value* base = F->getArg(0);
        for (const auto& v : p.state) {
            Value* ptr = B.CreateInBoundsGEP(i8, base, B.getInt64(f.stateOffset[v.get()]));
            uint64_t init = 0;
            if (v->init) init = v->init->kind == Expr::Kind::Bool ? (v->init->boolValue ? 1 : 0) : v->init->intValue;
            if (v->type.kind == ast::Type::Ipv6 || v->type.kind == ast::Type::Ipv4 || v->type.kind == ast::Type::Mac)
                B.CreateMemSet(ptr, B.getInt8(0), 16, llvm::MaybeAlign(1));
            else
                B.CreateStore(B.getInt64(init), B.CreateBitCast(ptr, llvm::PointerType::getUnqual(i64)));
        }
        B.CreateRetVoid();
    }

    void defineStream(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.stream, p);
        Value* out = f.stream->getArg(1);
        const ast::Block& b = *p.stream;
        std::set<const Field*> need;
        for (const auto& e : b.entries) for (auto* x : fieldsOf(p, {e.value.get()})) need.insert(x);
        walkProtocol(st, p, planFor(p, need));
        Value* seq = evalInt(st, *b.find("seq")->value);
        Value* flags = B.getInt32(0);
        auto flag = [&](const char* n, uint32_t bit) {
            if (const ast::Assignment* a = b.find(n))
                flags = B.CreateOr(flags, B.CreateSelect(evalBool(st, *a->value), B.getInt32(bit), B.getInt32(0)));
        };
        flag("syn", MMT_STREAM_SYN);
        flag("fin", MMT_STREAM_FIN);
        flag("rst", MMT_STREAM_RST);
        B.CreateStore(B.CreateTrunc(seq, i32), B.CreateStructGEP(streamTy, out, 0));
        B.CreateStore(flags, B.CreateStructGEP(streamTy, out, 1));
        B.CreateRet(B.getInt32(1));
        B.SetInsertPoint(st.failBB);
        B.CreateRet(B.getInt32(0));
    }

    void defineFragment(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.fragment, p);
        Value* out = f.fragment->getArg(1);
        const ast::Block& b = *p.fragment;
        std::set<const Field*> need;
        for (const auto& e : b.entries) for (auto* x : fieldsOf(p, {e.value.get()})) need.insert(x);
        walkProtocol(st, p, planFor(p, need));
        Value* id = evalInt(st, *b.find("id")->value);
        Value* offset = evalInt(st, *b.find("offset")->value);
        Value* more = evalBool(st, *b.find("more")->value);
        B.CreateStore(id, B.CreateStructGEP(fragTy, out, 0));
        B.CreateStore(B.CreateTrunc(offset, i32), B.CreateStructGEP(fragTy, out, 1));
        B.CreateStore(B.CreateZExt(more, i32), B.CreateStructGEP(fragTy, out, 2));
        Value* isFrag = B.CreateOr(more, B.CreateICmpNE(offset, B.getInt64(0)));
        B.CreateRet(B.CreateZExt(isFrag, i32));
        B.SetInsertPoint(st.failBB);
        B.CreateRet(B.getInt32(0));
    }

    // ------------------------------------------------------------------ expressions
    Value* evalIntField(FnState& st, const Expr& e) { return evalInt(st, e); }
    Value* evalBoolField(FnState& st, const Expr& e) { return evalBool(st, e); }

    Value* evalInt(FnState& st, const Expr& e) {
        EV v = eval(st, e);
        if (v.k == EV::Int) return v.v;
        if (v.k == EV::Bool) return B.CreateZExt(v.v, i64);
        evalFail(st);
        B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
        return B.getInt64(0);
    }
    Value* evalBool(FnState& st, const Expr& e) {
        EV v = eval(st, e);
        if (v.k == EV::Bool) return v.v;
        if (v.k == EV::Int) return B.CreateICmpNE(v.v, B.getInt64(0));
        evalFail(st);
        B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
        return llvm::ConstantInt::getFalse(C);
    }

    Value* stringConst(const std::string& s) {
        auto it = strings.find(s);
        if (it != strings.end()) return it->second;
        llvm::Constant* data = llvm::ConstantDataArray::getString(C, s, /*AddNull=*/true);
        auto* gv = new llvm::GlobalVariable(M, data->getType(), true, llvm::GlobalValue::PrivateLinkage, data, "str");
        gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
        llvm::Constant* p = llvm::ConstantExpr::getInBoundsGetElementPtr(
            data->getType(), gv, llvm::ArrayRef<llvm::Constant*>{B.getInt64(0), B.getInt64(0)});
        strings[s] = p;
        return p;
    }

    const Slot* findSlot(FnState& st, const Field* f) {
        for (auto it = st.scopes.rbegin(); it != st.scopes.rend(); ++it) {
            auto s = (*it)->find(f);
            if (s != (*it)->end()) return &s->second;
        }
        return nullptr;
    }

    /// The value of a parsed field; fails when it is absent.
    EV fieldValue(FnState& st, const Field& f, const Slot& s) {
        Value* present = B.CreateLoad(i1, s.present);
        evalFailIf(st, B.CreateNot(present));
        EV v;
        Value* off = B.CreateLoad(i64, s.off);
        if (f.isList) {
            v.k = EV::ListRef;
            v.list = &f;
            v.off = off;
            v.region = B.CreateLoad(i64, s.region);
            v.count = B.CreateLoad(i64, s.count);
            return v;
        }
        switch (f.type.kind) {
        case ast::TypeSpec::Int:
            v.k = EV::Int;
            v.v = B.CreateLoad(i64, s.val);
            return v;
        case ast::TypeSpec::Mac:
        case ast::TypeSpec::Ipv4:
        case ast::TypeSpec::Ipv6:
            v.k = EV::Addr;
            v.v = ptrAt(st, off);
            v.addrLen = f.type.kind == ast::TypeSpec::Mac ? 6 : f.type.kind == ast::TypeSpec::Ipv4 ? 4 : 16;
            v.addrKind = f.type.kind == ast::TypeSpec::Mac ? ast::Type::Mac : f.type.kind == ast::TypeSpec::Ipv4 ? ast::Type::Ipv4 : ast::Type::Ipv6;
            return v;
        case ast::TypeSpec::Bytes:
            v.k = EV::Bytes;
            v.v = ptrAt(st, off);
            v.len = B.CreateSub(B.CreateLoad(i64, s.end), off);
            return v;
        case ast::TypeSpec::Record:
            v.k = EV::RecordRef;
            v.rec = f.type.record;
            v.off = off;
            v.region = B.CreateLoad(i64, s.region);
            return v;
        case ast::TypeSpec::Unknown: break;
        }
        evalFail(st);
        B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
        return v;
    }

    EV intEV(Value* v) {
        EV r;
        r.k = EV::Int;
        r.v = v;
        return r;
    }
    EV boolEV(Value* v) {
        EV r;
        r.k = EV::Bool;
        r.v = v;
        return r;
    }
    EV bytesEV(Value* p, Value* n) {
        EV r;
        r.k = EV::Bytes;
        r.v = p;
        r.len = n;
        return r;
    }

    /// Walks a record at `rec.off` up to `member` and returns the member's value.
    EV recordMember(FnState& st, const EV& rec, const Field* member) {
        Scope& scope = pushScope(st);
        size_t limit = 0;
        for (size_t i = 0; i < rec.rec->items.size(); ++i) {
            const auto& it = rec.rec->items[i];
            if ((it.kind == ast::FieldItem::Kind::Field && it.field.get() == member) ||
                (it.kind == ast::FieldItem::Kind::Switch && containsSwitch(*it.sw, member)))
                limit = i + 1;
        }
        walkItems(st, rec.rec->items, limit, rec.off, rec.region, scope);
        const Slot* s = findSlot(st, member);
        EV v = s ? fieldValue(st, *member, *s) : EV{};
        st.scopes.pop_back();
        if (!s) {
            evalFail(st);
            B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
        }
        return v;
    }

    /// Runs `fn` for every element of a list or projection (flattening nested lists).
    /// `fn(elem, elemScope, cont)` must end its block by branching (to `cont` to go on).
    void forEachElement(FnState& st, const EV& seq, const std::function<void(EV, Scope*, BasicBlock*)>& fn) {
        if (seq.k != EV::ListRef && seq.k != EV::Projection) {
            evalFail(st);
            B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
            return;
        }
        const Field& f = *seq.list;
        BasicBlock* outerFail = st.failBB;
        listLoop(st, f, seq.off, seq.region, seq.count, [&](Value* elemOff, Value* elemEnd, Scope* elemScope, BasicBlock*) {
            BasicBlock* cont = BasicBlock::Create(C, "elem.next", st.F);
            EV elem;
            if (f.type.kind == ast::TypeSpec::Record) {
                elem.k = EV::RecordRef;
                elem.rec = f.type.record;
                elem.off = elemOff;
                elem.region = elemEnd;
            } else if (f.type.kind == ast::TypeSpec::Int) {
                elem = intEV(readInt(st, elemOff, f.type.width / 8, orderOf(f, *st.proto)));
            } else {
                elem.k = EV::Addr;
                elem.v = ptrAt(st, elemOff);
                elem.addrLen = f.type.kind == ast::TypeSpec::Mac ? 6 : f.type.kind == ast::TypeSpec::Ipv4 ? 4 : 16;
            }
            if (seq.k == EV::ListRef || seq.steps.empty()) {
                fn(elem, elemScope, cont);
            } else {
                // Apply the projection's steps from this element's own scope.
                st.failBB = cont;
                applySteps(st, elem, elemScope, seq.steps, 0, fn, cont);
                st.failBB = outerFail;
            }
            B.SetInsertPoint(cont);
        });
    }

    void applySteps(FnState& st, EV cur, Scope* curScope, const std::vector<const Field*>& steps, size_t i,
                    const std::function<void(EV, Scope*, BasicBlock*)>& fn, BasicBlock* cont) {
        const Field* step = steps[i];
        EV next;
        const Slot* s = curScope ? findInScope(*curScope, step) : nullptr;
        if (s) next = fieldValue(st, *step, *s);
        else next = recordMember(st, cur, step);
        bool last = i + 1 == steps.size();
        if (next.k == EV::ListRef) {
            // A list inside: walk its elements, then the remaining steps on each.
            BasicBlock* saved = st.failBB;
            forEachElement(st, next, [&](EV elem, Scope* es, BasicBlock* c2) {
                if (last) fn(elem, es, c2);
                else applySteps(st, elem, es, steps, i + 1, fn, c2);
            });
            st.failBB = saved;
            B.CreateBr(cont);
            return;
        }
        if (last) {
            fn(next, nullptr, cont);
            return;
        }
        applySteps(st, next, nullptr, steps, i + 1, fn, cont);
    }

    static const Slot* findInScope(Scope& s, const Field* f) {
        auto it = s.find(f);
        return it == s.end() ? nullptr : &it->second;
    }

    EV eval(FnState& st, const Expr& e) {
        using K = Expr::Kind;
        switch (e.kind) {
        case K::Int: return intEV(B.getInt64(e.intValue));
        case K::Bool: return boolEV(e.boolValue ? llvm::ConstantInt::getTrue(C) : llvm::ConstantInt::getFalse(C));
        case K::String: return bytesEV(stringConst(e.text), B.getInt64(int64_t(e.text.size())));
        case K::Name: return evalName(st, e);
        case K::Member: return evalMember(st, e);
        case K::Index: return evalIndex(st, e);
        case K::Call: return evalCall(st, e);
        case K::Unary: {
            Value* x = evalInt(st, *e.operands[0]);
            return intEV(e.text == "-" ? B.CreateNeg(x) : B.CreateNot(x));
        }
        case K::Not: return boolEV(B.CreateNot(evalBool(st, *e.operands[0])));
        case K::In: {
            Value* x = evalInt(st, *e.operands[0]);
            Value* m = llvm::ConstantInt::getFalse(C);
            for (const auto& cv : e.cases) m = B.CreateOr(m, inCase(x, cv));
            return boolEV(m);
        }
        case K::Cond: return evalCond(st, e);
        case K::Binary: return evalBinary(st, e);
        }
        evalFail(st);
        B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
        return intEV(B.getInt64(0));
    }

    EV evalName(FnState& st, const Expr& e) {
        switch (e.ref.kind) {
        case ast::Ref::Field: {
            const Slot* s = findSlot(st, e.ref.field);
            if (!s) throw std::logic_error("codegen: field '" + e.text + "' used before it was walked");
            return fieldValue(st, *e.ref.field, *s);
        }
        case ast::Ref::BitName: {
            const Slot* s = findSlot(st, e.ref.field);
            if (!s) throw std::logic_error("codegen: field '" + e.ref.field->name + "' used before it was walked");
            EV v = fieldValue(st, *e.ref.field, *s);
            unsigned w = e.ref.field->type.width;
            Value* bit = B.CreateAnd(B.CreateLShr(v.v, w - 1 - e.ref.bit), B.getInt64(1));
            return boolEV(B.CreateICmpNE(bit, B.getInt64(0)));
        }
        case ast::Ref::Let: return eval(st, *e.ref.let->value);
        case ast::Ref::Attribute: return callGetter(st, fns[st.proto].getters[e.ref.attribute], st.ctx, e.ref.attribute->type);
        case ast::Ref::State: {
            Value* state = B.CreateLoad(i8p, B.CreateStructGEP(ctxTy, st.ctx, 9));
            evalFailIf(st, B.CreateIsNull(state));
            Value* p = statePtr(st, e.ref.state);
            const ast::Type& t = e.ref.state->type;
            if (t.kind == ast::Type::Bool)
                return boolEV(B.CreateICmpNE(B.CreateLoad(i64, B.CreateBitCast(p, llvm::PointerType::getUnqual(i64))), B.getInt64(0)));
            if (t.isInt()) return intEV(B.CreateLoad(i64, B.CreateBitCast(p, llvm::PointerType::getUnqual(i64))));
            EV v;
            v.k = EV::Addr;
            v.v = p;
            v.addrLen = t.kind == ast::Type::Mac ? 6 : t.kind == ast::Type::Ipv4 ? 4 : 16;
            return v;
        }
        case ast::Ref::Payload: {
            if (!st.headerLen) lengthsViaValidate(st, *st.proto);
            return bytesEV(ptrAt(st, st.headerLen), st.payloadLen);
        }
        case ast::Ref::Builtin:
            if (e.ref.builtin == "direction")
                return intEV(B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, 2)), i64));
            return intEV(B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, 3)), i64));
        default: break;
        }
        evalFail(st);
        B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
        return intEV(B.getInt64(0));
    }

    /// Calls a getter and turns its mmt_value back into a value; absent means failure.
    EV callGetter(FnState& st, Function* getter, Value* ctx, const ast::Type& t) {
        if (!getter) {
            evalFail(st);
            B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
            return intEV(B.getInt64(0));
        }
        llvm::AllocaInst* tmp = entryAlloca(st, valueTy, "attr");
        Value* ok = B.CreateCall(getter, {ctx, tmp});
        evalFailIf(st, B.CreateICmpEQ(ok, B.getInt32(0)));
        return fromValue(tmp, t);
    }

    EV fromValue(Value* tmp, const ast::Type& t) {
        Value* u = B.CreateLoad(i64, B.CreateStructGEP(valueTy, tmp, 2));
        Value* p = B.CreateLoad(i8p, B.CreateStructGEP(valueTy, tmp, 3));
        Value* n = B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(valueTy, tmp, 1)), i64);
        switch (t.kind) {
        case ast::Type::Int: return intEV(u);
        case ast::Type::Bool: return boolEV(B.CreateICmpNE(u, B.getInt64(0)));
        case ast::Type::Bytes:
        case ast::Type::String: return bytesEV(p, n);
        default: {
            EV v;
            v.k = EV::Addr;
            v.v = p;
            v.addrLen = t.kind == ast::Type::Mac ? 6 : t.kind == ast::Type::Ipv4 ? 4 : 16;
            v.addrKind = t.kind;
            return v;
        }
        }
    }

    EV evalMember(FnState& st, const Expr& e) {
        const Expr& base = *e.operands[0];
        if (e.ref.kind == ast::Ref::ProtoAttr) return evalParentAttr(st, e);
        EV b = eval(st, base);
        const Field* member = e.ref.field;
        if (b.k == EV::RecordRef) {
            EV v = recordMember(st, b, member);
            if (e.ref.kind == ast::Ref::BitName) {
                unsigned w = member->type.width;
                Value* bit = B.CreateAnd(B.CreateLShr(v.v, w - 1 - e.ref.bit), B.getInt64(1));
                return boolEV(B.CreateICmpNE(bit, B.getInt64(0)));
            }
            return v;
        }
        if (b.k == EV::ListRef || b.k == EV::Projection) {
            EV p = b;
            p.k = EV::Projection;
            p.steps.push_back(member);
            return p;
        }
        evalFail(st);
        B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
        return intEV(B.getInt64(0));
    }

    EV evalParentAttr(FnState& st, const Expr& e) {
        auto pit = S.parents.find(st.proto);
        Value* parentId = B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, 4));
        Value* parentCtx = B.CreateLoad(ctxPtr, B.CreateStructGEP(ctxTy, st.ctx, 5));
        evalFailIf(st, B.CreateIsNull(parentCtx));
        llvm::AllocaInst* tmp = entryAlloca(st, valueTy, "parent.attr");
        BasicBlock* join = BasicBlock::Create(C, "parent.got", st.F);
        BasicBlock* none = BasicBlock::Create(C, "parent.none", st.F);
        llvm::SwitchInst* sw = B.CreateSwitch(parentId, none);
        if (pit != S.parents.end()) {
            for (const ast::Protocol* par : pit->second) {
                const ast::Attribute* attr = nullptr;
                for (const auto& a : par->attributes)
                    if (a->name == e.text) attr = a.get();
                if (!attr || attr->isEvent) continue;
                BasicBlock* bb = BasicBlock::Create(C, "parent." + par->name, st.F);
                sw->addCase(B.getInt32(uint32_t(*par->id)), bb);
                B.SetInsertPoint(bb);
                Value* ok = B.CreateCall(fns[par].getters[attr], {parentCtx, tmp});
                B.CreateCondBr(B.CreateICmpEQ(ok, B.getInt32(0)), none, join);
            }
        }
        B.SetInsertPoint(none);
        evalFail(st);
        B.SetInsertPoint(join);
        return fromValue(tmp, e.type);
    }

    EV evalIndex(FnState& st, const Expr& e) {
        EV b = eval(st, *e.operands[0]);
        Value* i = evalInt(st, *e.operands[1]);
        if (b.k == EV::Bytes) {
            evalFailIf(st, B.CreateICmpUGE(i, b.len)); // negative indexes are huge unsigned values
            return intEV(B.CreateZExt(B.CreateLoad(i8, B.CreateInBoundsGEP(i8, b.v, i)), i64));
        }
        if (b.k == EV::ListRef || b.k == EV::Projection) return nthElement(st, b, i, false);
        evalFail(st);
        B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
        return intEV(B.getInt64(0));
    }

    /// Element `i` (or the last one) of a sequence, as a value that outlives the loop.
    EV nthElement(FnState& st, const EV& seq, Value* i, bool lastOne) {
        ast::Type et = elementTypeOf(seq);
        llvm::AllocaInst* idx = entryAlloca(st, i64, "nth.idx");
        llvm::AllocaInst* found = entryAlloca(st, i1, "nth.found");
        llvm::AllocaInst* vOff = entryAlloca(st, i64, "nth.off");
        llvm::AllocaInst* vRegion = entryAlloca(st, i64, "nth.region");
        llvm::AllocaInst* vVal = entryAlloca(st, i64, "nth.val");
        llvm::AllocaInst* vPtr = entryAlloca(st, i8p, "nth.ptr");
        llvm::AllocaInst* vLen = entryAlloca(st, i64, "nth.len");
        B.CreateStore(B.getInt64(0), idx);
        B.CreateStore(llvm::ConstantInt::getFalse(C), found);
        BasicBlock* done = BasicBlock::Create(C, "nth.done", st.F);
        BasicBlock* outerFail = st.failBB;
        // A malformed element ends the search with what was found so far.
        st.failBB = done;
        const ast::Record* elemRec = nullptr;
        forEachElement(st, seq, [&](EV elem, Scope*, BasicBlock* cont) {
            Value* k = B.CreateLoad(i64, idx);
            B.CreateStore(B.CreateAdd(k, B.getInt64(1)), idx);
            BasicBlock* take = BasicBlock::Create(C, "nth.take", st.F);
            Value* hit = lastOne ? static_cast<Value*>(llvm::ConstantInt::getTrue(C)) : B.CreateICmpEQ(k, i);
            B.CreateCondBr(hit, take, cont);
            B.SetInsertPoint(take);
            B.CreateStore(llvm::ConstantInt::getTrue(C), found);
            switch (elem.k) {
            case EV::RecordRef:
                elemRec = elem.rec;
                B.CreateStore(elem.off, vOff);
                B.CreateStore(elem.region, vRegion);
                break;
            case EV::Int: B.CreateStore(elem.v, vVal); break;
            case EV::Bool: B.CreateStore(B.CreateZExt(elem.v, i64), vVal); break;
            case EV::Bytes:
                B.CreateStore(elem.v, vPtr);
                B.CreateStore(elem.len, vLen);
                break;
            case EV::Addr: B.CreateStore(elem.v, vPtr); break;
            default: break;
            }
            B.CreateBr(lastOne ? cont : done);
        });
        B.CreateBr(done);
        B.SetInsertPoint(done);
        st.failBB = outerFail;
        evalFailIf(st, B.CreateNot(B.CreateLoad(i1, found)));
        EV r;
        switch (et.kind) {
        case ast::Type::Record:
            r.k = EV::RecordRef;
            r.rec = elemRec ? elemRec : et.record;
            r.off = B.CreateLoad(i64, vOff);
            r.region = B.CreateLoad(i64, vRegion);
            return r;
        case ast::Type::Int: return intEV(B.CreateLoad(i64, vVal));
        case ast::Type::Bool: return boolEV(B.CreateICmpNE(B.CreateLoad(i64, vVal), B.getInt64(0)));
        case ast::Type::Bytes:
        case ast::Type::String: return bytesEV(B.CreateLoad(i8p, vPtr), B.CreateLoad(i64, vLen));
        default:
            r.k = EV::Addr;
            r.v = B.CreateLoad(i8p, vPtr);
            r.addrLen = et.kind == ast::Type::Mac ? 6 : et.kind == ast::Type::Ipv4 ? 4 : 16;
            return r;
        }
    }

    /// The element type of a list or projection value.
    ast::Type elementTypeOf(const EV& seq) {
        const Field* f = seq.steps.empty() ? seq.list : seq.steps.back();
        ast::Type t;
        switch (f->type.kind) {
        case ast::TypeSpec::Int: t = ast::Type::integer(f->type.width); break;
        case ast::TypeSpec::Mac: t = ast::Type::of(ast::Type::Mac); break;
        case ast::TypeSpec::Ipv4: t = ast::Type::of(ast::Type::Ipv4); break;
        case ast::TypeSpec::Ipv6: t = ast::Type::of(ast::Type::Ipv6); break;
        case ast::TypeSpec::Bytes: t = ast::Type::of(ast::Type::Bytes); break;
        case ast::TypeSpec::Record:
            t = ast::Type::of(ast::Type::Record);
            t.record = f->type.record;
            break;
        default: break;
        }
        return t;
    }

    EV evalCond(FnState& st, const Expr& e) {
        Value* c = evalBool(st, *e.operands[0]);
        BasicBlock* tBB = BasicBlock::Create(C, "cond.t", st.F);
        BasicBlock* fBB = BasicBlock::Create(C, "cond.f", st.F);
        BasicBlock* join = BasicBlock::Create(C, "cond.join", st.F);
        B.CreateCondBr(c, tBB, fBB);
        B.SetInsertPoint(tBB);
        EV a = eval(st, *e.operands[1]);
        BasicBlock* aEnd = B.GetInsertBlock();
        B.SetInsertPoint(fBB);
        EV b = eval(st, *e.operands[2]);
        BasicBlock* bEnd = B.GetInsertBlock();
        // Integers of either branch meet as i64; bytes as pointer and length.
        B.SetInsertPoint(aEnd);
        if (a.k == EV::Bool && b.k == EV::Bool) {
            B.CreateBr(join);
            B.SetInsertPoint(bEnd);
            B.CreateBr(join);
            B.SetInsertPoint(join);
            llvm::PHINode* phi = B.CreatePHI(i1, 2);
            phi->addIncoming(a.v, aEnd);
            phi->addIncoming(b.v, bEnd);
            return boolEV(phi);
        }
        if (a.k == EV::Bytes && b.k == EV::Bytes) {
            B.CreateBr(join);
            B.SetInsertPoint(bEnd);
            B.CreateBr(join);
            B.SetInsertPoint(join);
            llvm::PHINode* p = B.CreatePHI(i8p, 2);
            p->addIncoming(a.v, aEnd);
            p->addIncoming(b.v, bEnd);
            llvm::PHINode* n = B.CreatePHI(i64, 2);
            n->addIncoming(a.len, aEnd);
            n->addIncoming(b.len, bEnd);
            return bytesEV(p, n);
        }
        if (a.k == EV::Addr && b.k == EV::Addr) {
            B.CreateBr(join);
            B.SetInsertPoint(bEnd);
            B.CreateBr(join);
            B.SetInsertPoint(join);
            llvm::PHINode* p = B.CreatePHI(i8p, 2);
            p->addIncoming(a.v, aEnd);
            p->addIncoming(b.v, bEnd);
            EV r = a;
            r.v = p;
            return r;
        }
        Value* av = a.k == EV::Int ? a.v : a.k == EV::Bool ? B.CreateZExt(a.v, i64) : B.getInt64(0);
        B.CreateBr(join);
        B.SetInsertPoint(bEnd);
        Value* bv = b.k == EV::Int ? b.v : b.k == EV::Bool ? B.CreateZExt(b.v, i64) : B.getInt64(0);
        B.CreateBr(join);
        B.SetInsertPoint(join);
        llvm::PHINode* phi = B.CreatePHI(i64, 2);
        phi->addIncoming(av, aEnd);
        phi->addIncoming(bv, bEnd);
        return intEV(phi);
    }

    Value* bytesEqual(FnState& st, const EV& a, const EV& b) {
        BasicBlock* cmp = BasicBlock::Create(C, "eq.cmp", st.F);
        BasicBlock* join = BasicBlock::Create(C, "eq.join", st.F);
        BasicBlock* from = B.GetInsertBlock();
        Value* sameLen = B.CreateICmpEQ(a.len, b.len);
        B.CreateCondBr(sameLen, cmp, join);
        B.SetInsertPoint(cmp);
        Value* eq = B.CreateICmpEQ(B.CreateCall(hMemcmp, {a.v, b.v, a.len}), B.getInt32(0));
        BasicBlock* cmpEnd = B.GetInsertBlock();
        B.CreateBr(join);
        B.SetInsertPoint(join);
        llvm::PHINode* phi = B.CreatePHI(i1, 2);
        phi->addIncoming(llvm::ConstantInt::getFalse(C), from);
        phi->addIncoming(eq, cmpEnd);
        return phi;
    }

    EV evalBinary(FnState& st, const Expr& e) {
        const std::string& op = e.text;
        if (op == "and" || op == "or") {
            Value* a = evalBool(st, *e.operands[0]);
            BasicBlock* from = B.GetInsertBlock();
            BasicBlock* rhs = BasicBlock::Create(C, op + ".rhs", st.F);
            BasicBlock* join = BasicBlock::Create(C, op + ".join", st.F);
            if (op == "and") B.CreateCondBr(a, rhs, join);
            else B.CreateCondBr(a, join, rhs);
            B.SetInsertPoint(rhs);
            Value* b = evalBool(st, *e.operands[1]);
            BasicBlock* rhsEnd = B.GetInsertBlock();
            B.CreateBr(join);
            B.SetInsertPoint(join);
            llvm::PHINode* phi = B.CreatePHI(i1, 2);
            phi->addIncoming(op == "and" ? llvm::ConstantInt::getFalse(C) : llvm::ConstantInt::getTrue(C), from);
            phi->addIncoming(b, rhsEnd);
            return boolEV(phi);
        }
        EV a = eval(st, *e.operands[0]);
        EV b = eval(st, *e.operands[1]);
        if (op == "==" || op == "!=") {
            Value* eq;
            if (a.k == EV::Bytes && b.k == EV::Bytes) eq = bytesEqual(st, a, b);
            else if (a.k == EV::Addr && b.k == EV::Addr)
                eq = B.CreateICmpEQ(B.CreateCall(hMemcmp, {a.v, b.v, B.getInt64(a.addrLen)}), B.getInt32(0));
            else if (a.k == EV::Bool && b.k == EV::Bool) eq = B.CreateICmpEQ(a.v, b.v);
            else eq = B.CreateICmpEQ(asInt(a), asInt(b));
            return boolEV(op == "==" ? eq : B.CreateNot(eq));
        }
        Value* x = asInt(a);
        Value* y = asInt(b);
        if (op == "<") return boolEV(B.CreateICmpSLT(x, y));
        if (op == "<=") return boolEV(B.CreateICmpSLE(x, y));
        if (op == ">") return boolEV(B.CreateICmpSGT(x, y));
        if (op == ">=") return boolEV(B.CreateICmpSGE(x, y));
        if (op == "+") return intEV(B.CreateAdd(x, y));
        if (op == "-") return intEV(B.CreateSub(x, y));
        if (op == "*") return intEV(B.CreateMul(x, y));
        if (op == "&") return intEV(B.CreateAnd(x, y));
        if (op == "|") return intEV(B.CreateOr(x, y));
        if (op == "^") return intEV(B.CreateXor(x, y));
        if (op == "/" || op == "%") {
            // Division by zero and INT64_MIN / -1 are failures, never undefined behaviour.
            Value* bad = B.CreateOr(B.CreateICmpEQ(y, B.getInt64(0)),
                                    B.CreateAnd(B.CreateICmpEQ(x, B.getInt64(INT64_MIN)), B.CreateICmpEQ(y, B.getInt64(-1))));
            evalFailIf(st, bad);
            return intEV(op == "/" ? B.CreateSDiv(x, y) : B.CreateSRem(x, y));
        }
        if (op == "<<" || op == ">>") {
            // Shifts by 64 or more (or by a negative amount) give 0: defined, like a wide register.
            Value* inRange = B.CreateICmpULT(y, B.getInt64(64));
            Value* safeY = B.CreateSelect(inRange, y, B.getInt64(0));
            Value* r = op == "<<" ? B.CreateShl(x, safeY) : B.CreateLShr(x, safeY);
            return intEV(B.CreateSelect(inRange, r, B.getInt64(0)));
        }
        evalFail(st);
        B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
        return intEV(B.getInt64(0));
    }

    Value* asInt(const EV& v) {
        if (v.k == EV::Int) return v.v;
        if (v.k == EV::Bool) return B.CreateZExt(v.v, i64);
        return B.getInt64(0);
    }

    EV asBytes(FnState& st, const EV& v) {
        if (v.k == EV::Bytes) return v;
        evalFail(st);
        B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
        return bytesEV(llvm::ConstantPointerNull::get(i8p), B.getInt64(0));
    }

    /// `lit` at the start (or end) of `b`, case-sensitive or not.
    Value* hasAt(FnState& st, const EV& b, const std::string& lit, bool atEnd, bool icase) {
        BasicBlock* from = B.GetInsertBlock();
        BasicBlock* cmp = BasicBlock::Create(C, "lit.cmp", st.F);
        BasicBlock* join = BasicBlock::Create(C, "lit.join", st.F);
        Value* n = B.getInt64(int64_t(lit.size()));
        B.CreateCondBr(B.CreateICmpUGE(b.len, n), cmp, join);
        B.SetInsertPoint(cmp);
        Value* p = atEnd ? B.CreateInBoundsGEP(i8, b.v, B.CreateSub(b.len, n)) : b.v;
        Value* eq = icase ? B.CreateICmpNE(B.CreateCall(hIcase, {p, stringConst(lit), n}), B.getInt32(0))
                          : B.CreateICmpEQ(B.CreateCall(hMemcmp, {p, stringConst(lit), n}), B.getInt32(0));
        BasicBlock* cmpEnd = B.GetInsertBlock();
        B.CreateBr(join);
        B.SetInsertPoint(join);
        llvm::PHINode* phi = B.CreatePHI(i1, 2);
        phi->addIncoming(llvm::ConstantInt::getFalse(C), from);
        phi->addIncoming(eq, cmpEnd);
        return phi;
    }

    EV evalCall(FnState& st, const Expr& e) {
        const std::string& f = e.text;
        auto& args = e.operands;
        auto lit = [&](size_t i) { return args[i]->text; };
        if (f == "len" || f == "count") {
            EV v = eval(st, *args[0]);
            if (v.k == EV::Bytes) return intEV(v.len);
            return intEV(countElements(st, v));
        }
        if (f == "starts_with" || f == "istarts_with" || f == "ends_with") {
            EV b = asBytes(st, eval(st, *args[0]));
            Value* any = llvm::ConstantInt::getFalse(C);
            for (size_t i = 1; i < args.size(); ++i)
                any = B.CreateOr(any, hasAt(st, b, lit(i), f == "ends_with", f == "istarts_with"));
            return boolEV(any);
        }
        if (f == "contains") {
            EV b = asBytes(st, eval(st, *args[0]));
            Value* any = llvm::ConstantInt::getFalse(C);
            for (size_t i = 1; i < args.size(); ++i) {
                Value* idx = B.CreateCall(hFind, {b.v, b.len, stringConst(lit(i)), B.getInt64(int64_t(lit(i).size()))});
                any = B.CreateOr(any, B.CreateICmpSGE(idx, B.getInt64(0)));
            }
            return boolEV(any);
        }
        if (f == "iequals") {
            EV b = asBytes(st, eval(st, *args[0]));
            Value* sameLen = B.CreateICmpEQ(b.len, B.getInt64(int64_t(lit(1).size())));
            BasicBlock* from = B.GetInsertBlock();
            BasicBlock* cmp = BasicBlock::Create(C, "ieq.cmp", st.F);
            BasicBlock* join = BasicBlock::Create(C, "ieq.join", st.F);
            B.CreateCondBr(sameLen, cmp, join);
            B.SetInsertPoint(cmp);
            Value* eq = B.CreateICmpNE(B.CreateCall(hIcase, {b.v, stringConst(lit(1)), b.len}), B.getInt32(0));
            BasicBlock* cmpEnd = B.GetInsertBlock();
            B.CreateBr(join);
            B.SetInsertPoint(join);
            llvm::PHINode* phi = B.CreatePHI(i1, 2);
            phi->addIncoming(llvm::ConstantInt::getFalse(C), from);
            phi->addIncoming(eq, cmpEnd);
            return boolEV(phi);
        }
        if (f == "trim") return trim(st, asBytes(st, eval(st, *args[0])));
        if (f == "split") return split(st, asBytes(st, eval(st, *args[0])), lit(1), args[2]->intValue);
        if (f == "before" || f == "after") {
            EV b = asBytes(st, eval(st, *args[0]));
            const std::string sep = lit(1);
            Value* idx = B.CreateCall(hFind, {b.v, b.len, stringConst(sep), B.getInt64(int64_t(sep.size()))});
            evalFailIf(st, B.CreateICmpSLT(idx, B.getInt64(0)));
            if (f == "before") return bytesEV(b.v, idx);
            Value* start = B.CreateAdd(idx, B.getInt64(int64_t(sep.size())));
            return bytesEV(B.CreateInBoundsGEP(i8, b.v, start), B.CreateSub(b.len, start));
        }
        if (f == "to_int") {
            EV b = asBytes(st, eval(st, *args[0]));
            llvm::AllocaInst* out = entryAlloca(st, i64, "to_int");
            Value* ok = B.CreateCall(hToInt, {b.v, b.len, out});
            evalFailIf(st, B.CreateICmpEQ(ok, B.getInt32(0)));
            return intEV(B.CreateLoad(i64, out));
        }
        if (f.size() >= 2 && f[0] == 'u' && std::isdigit(static_cast<unsigned char>(f[1]))) {
            EV b = asBytes(st, eval(st, *args[0]));
            Value* off = evalInt(st, *args[1]);
            unsigned w = unsigned(std::stoul(f.substr(1)));
            bool le = f.size() > 2 && f.substr(f.size() - 2) == "le";
            unsigned bytes = w / 8;
            Value* bad = B.CreateOr(B.CreateICmpSLT(off, B.getInt64(0)),
                                    B.CreateICmpUGT(B.CreateAdd(off, B.getInt64(bytes)), b.len));
            evalFailIf(st, bad);
            // Read relative to the bytes value: reuse readInt over a temporary base.
            Value* savedData = st.data;
            st.data = b.v;
            Value* v = readInt(st, off, bytes, le ? ast::ByteOrder::Little : ast::ByteOrder::Big);
            st.data = savedData;
            return intEV(v);
        }
        if (f == "first" || f == "last") {
            EV seq = eval(st, *args[0]);
            return nthElement(st, seq, B.getInt64(0), f == "last");
        }
        if (f == "join") return join(st, eval(st, *args[0]), lit(1));
        if (f == "min" || f == "max") {
            Value* a = evalInt(st, *args[0]);
            Value* b = evalInt(st, *args[1]);
            Value* lt = B.CreateICmpSLT(a, b);
            return intEV(f == "min" ? B.CreateSelect(lt, a, b) : B.CreateSelect(lt, b, a));
        }
        evalFail(st);
        B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
        return intEV(B.getInt64(0));
    }

    Value* countElements(FnState& st, const EV& seq) {
        llvm::AllocaInst* n = entryAlloca(st, i64, "count");
        B.CreateStore(B.getInt64(0), n);
        forEachElement(st, seq, [&](EV, Scope*, BasicBlock* cont) {
            B.CreateStore(B.CreateAdd(B.CreateLoad(i64, n), B.getInt64(1)), n);
            B.CreateBr(cont);
        });
        return B.CreateLoad(i64, n);
    }

    EV trim(FnState& st, const EV& b) {
        // Leading then trailing spaces and tabs.
        llvm::AllocaInst* s = entryAlloca(st, i64, "trim.s");
        llvm::AllocaInst* e = entryAlloca(st, i64, "trim.e");
        B.CreateStore(B.getInt64(0), s);
        B.CreateStore(b.len, e);
        auto isSpace = [&](Value* c) {
            return B.CreateOr(B.CreateICmpEQ(c, B.getInt8(' ')), B.CreateICmpEQ(c, B.getInt8('\t')));
        };
        BasicBlock* h1 = BasicBlock::Create(C, "trim.lead", st.F);
        BasicBlock* b1 = BasicBlock::Create(C, "trim.lead.step", st.F);
        BasicBlock* h2 = BasicBlock::Create(C, "trim.tail", st.F);
        BasicBlock* b2 = BasicBlock::Create(C, "trim.tail.step", st.F);
        BasicBlock* done = BasicBlock::Create(C, "trim.done", st.F);
        B.CreateBr(h1);
        B.SetInsertPoint(h1);
        {
            Value* sv = B.CreateLoad(i64, s);
            BasicBlock* chk = BasicBlock::Create(C, "trim.lead.chk", st.F);
            B.CreateCondBr(B.CreateICmpULT(sv, b.len), chk, h2);
            B.SetInsertPoint(chk);
            Value* c = B.CreateLoad(i8, B.CreateInBoundsGEP(i8, b.v, sv));
            B.CreateCondBr(isSpace(c), b1, h2);
            B.SetInsertPoint(b1);
            B.CreateStore(B.CreateAdd(sv, B.getInt64(1)), s);
            B.CreateBr(h1);
        }
        B.SetInsertPoint(h2);
        {
            Value* sv = B.CreateLoad(i64, s);
            Value* ev = B.CreateLoad(i64, e);
            BasicBlock* chk = BasicBlock::Create(C, "trim.tail.chk", st.F);
            B.CreateCondBr(B.CreateICmpUGT(ev, sv), chk, done);
            B.SetInsertPoint(chk);
            Value* c = B.CreateLoad(i8, B.CreateInBoundsGEP(i8, b.v, B.CreateSub(ev, B.getInt64(1))));
            B.CreateCondBr(isSpace(c), b2, done);
            B.SetInsertPoint(b2);
            B.CreateStore(B.CreateSub(ev, B.getInt64(1)), e);
            B.CreateBr(h2);
        }
        B.SetInsertPoint(done);
        Value* sv = B.CreateLoad(i64, s);
        Value* ev = B.CreateLoad(i64, e);
        return bytesEV(B.CreateInBoundsGEP(i8, b.v, sv), B.CreateSub(ev, sv));
    }

    /// Piece `index` of `b` cut at every `sep` (empty pieces count).
    EV split(FnState& st, const EV& b, const std::string& sep, uint64_t index) {
        Value* p = b.v;
        Value* n = b.len;
        Value* seplen = B.getInt64(int64_t(sep.size()));
        for (uint64_t k = 0; k < index; ++k) {
            Value* idx = B.CreateCall(hFind, {p, n, stringConst(sep), seplen});
            evalFailIf(st, B.CreateICmpSLT(idx, B.getInt64(0)));
            Value* start = B.CreateAdd(idx, seplen);
            p = B.CreateInBoundsGEP(i8, p, start);
            n = B.CreateSub(n, start);
        }
        Value* idx = B.CreateCall(hFind, {p, n, stringConst(sep), seplen});
        Value* pieceLen = B.CreateSelect(B.CreateICmpSLT(idx, B.getInt64(0)), n, idx);
        return bytesEV(p, pieceLen);
    }

    EV join(FnState& st, const EV& seq, const std::string& sep) {
        Value* mark = B.CreateCall(hMark, {st.ctx});
        evalFailIf(st, B.CreateIsNull(mark));
        llvm::AllocaInst* total = entryAlloca(st, i64, "join.len");
        llvm::AllocaInst* ok = entryAlloca(st, i1, "join.ok");
        B.CreateStore(B.getInt64(0), total);
        B.CreateStore(llvm::ConstantInt::getTrue(C), ok);
        BasicBlock* outerFail = st.failBB;
        forEachElement(st, seq, [&](EV elem, Scope*, BasicBlock* cont) {
            if (elem.k != EV::Bytes) {
                B.CreateBr(cont);
                return;
            }
            Value* t = B.CreateLoad(i64, total);
            BasicBlock* addSep = BasicBlock::Create(C, "join.sep", st.F);
            BasicBlock* addVal = BasicBlock::Create(C, "join.val", st.F);
            BasicBlock* full = BasicBlock::Create(C, "join.full", st.F);
            B.CreateCondBr(B.CreateICmpUGT(t, B.getInt64(0)), addSep, addVal);
            B.SetInsertPoint(addSep);
            Value* r1 = B.CreateCall(hAppend, {st.ctx, stringConst(sep), B.getInt64(int64_t(sep.size()))});
            B.CreateStore(B.CreateAdd(B.CreateLoad(i64, total), B.getInt64(int64_t(sep.size()))), total);
            BasicBlock* sepOk = BasicBlock::Create(C, "join.sep.ok", st.F);
            B.CreateCondBr(B.CreateIsNull(r1), full, sepOk);
            B.SetInsertPoint(sepOk);
            B.CreateBr(addVal);
            B.SetInsertPoint(addVal);
            Value* r2 = B.CreateCall(hAppend, {st.ctx, elem.v, elem.len});
            B.CreateStore(B.CreateAdd(B.CreateLoad(i64, total), elem.len), total);
            B.CreateCondBr(B.CreateIsNull(r2), full, cont);
            B.SetInsertPoint(full);
            B.CreateStore(llvm::ConstantInt::getFalse(C), ok);
            B.CreateBr(cont);
        });
        st.failBB = outerFail;
        evalFailIf(st, B.CreateNot(B.CreateLoad(i1, ok)));
        return bytesEV(mark, B.CreateLoad(i64, total));
    }

    // ------------------------------------------------------------------ the library table
    llvm::Constant* asI8p(llvm::Constant* c) { return c ? llvm::ConstantExpr::getBitCast(c, i8p) : llvm::ConstantPointerNull::get(i8p); }
    llvm::Constant* cstr(const std::string& s) {
        return llvm::cast<llvm::Constant>(stringConst(s));
    }

    void emitLibrary(const std::vector<ast::Protocol*>& protos) {
        std::vector<llvm::Constant*> entries;
        for (ast::Protocol* p : protos) {
            ProtoFns& f = fns[p];
            // Attributes.
            std::vector<llvm::Constant*> attrs;
            for (const auto& a : p->attributes) {
                uint32_t type = MMT_T_NONE;
                switch (a->type.kind) {
                case ast::Type::Int: type = MMT_T_UINT; break;
                case ast::Type::Bool: type = MMT_T_BOOL; break;
                case ast::Type::Bytes: type = MMT_T_BYTES; break;
                case ast::Type::String: type = MMT_T_STRING; break;
                case ast::Type::Mac: type = MMT_T_MAC; break;
                case ast::Type::Ipv4: type = MMT_T_IPV4; break;
                case ast::Type::Ipv6: type = MMT_T_IPV6; break;
                default: break;
                }
                llvm::Constant* getter = a->isEvent ? nullptr : f.getters[a.get()];
                attrs.push_back(llvm::ConstantStruct::get(
                    attrTy, {cstr(a->name), B.getInt32(type), B.getInt32(a->isEvent ? MMT_ATTR_EVENT : MMT_ATTR_REQUEST),
                             asI8p(getter), B.getInt32(a->isEvent ? f.eventIndex[a.get()] : 0)}));
            }
            llvm::Constant* attrArr = llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(attrTy));
            if (!attrs.empty()) {
                auto* at = llvm::ArrayType::get(attrTy, attrs.size());
                auto* gv = new llvm::GlobalVariable(M, at, true, llvm::GlobalValue::PrivateLinkage,
                                                    llvm::ConstantArray::get(at, attrs), p->name + ".attrs");
                attrArr = llvm::ConstantExpr::getInBoundsGetElementPtr(at, gv, llvm::ArrayRef<llvm::Constant*>{B.getInt64(0), B.getInt64(0)});
            }
            // Field names.
            std::vector<llvm::Constant*> names;
            for (const Field* fd : p->fieldTable) names.push_back(cstr(fd->name));
            llvm::Constant* nameArr = llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(i8p));
            if (!names.empty()) {
                auto* at = llvm::ArrayType::get(i8p, names.size());
                auto* gv = new llvm::GlobalVariable(M, at, true, llvm::GlobalValue::PrivateLinkage,
                                                    llvm::ConstantArray::get(at, names), p->name + ".fields");
                nameArr = llvm::ConstantExpr::getInBoundsGetElementPtr(at, gv, llvm::ArrayRef<llvm::Constant*>{B.getInt64(0), B.getInt64(0)});
            }
            uint32_t flags = 0;
            if (p->key || (p->session && p->session->key)) flags |= MMT_PROTO_HAS_KEY;
            if (p->session) flags |= MMT_PROTO_SESSION | MMT_PROTO_HAS_KEY;
            if (p->stream) flags |= MMT_PROTO_STREAM;
            if (p->fragment) flags |= MMT_PROTO_FRAGMENTS;
            if (p->pduLength) flags |= MMT_PROTO_PDU_LENGTH;
            if (p->pduUntil) flags |= MMT_PROTO_PDU_UNTIL;
            if (p->builtin) flags |= MMT_PROTO_BUILTIN;
            llvm::Constant* term = p->pduUntil ? cstr(*p->pduUntil) : llvm::ConstantPointerNull::get(i8p);
            entries.push_back(llvm::ConstantStruct::get(
                protoTy,
                {B.getInt32(uint32_t(p->id.value_or(0))), cstr(p->name), B.getInt32(flags),
                 B.getInt32(p->session ? uint32_t(p->session->timeoutMs) : 0), B.getInt32(f.stateSize),
                 B.getInt32(uint32_t(attrs.size())), attrArr, B.getInt32(uint32_t(names.size())), nameArr, term,
                 B.getInt32(p->pduUntil ? uint32_t(p->pduUntil->size()) : 0), asI8p(f.validate), asI8p(f.analyse),
                 asI8p(f.key), asI8p(f.classify), asI8p(f.pdu), asI8p(f.update), asI8p(f.init), asI8p(f.stream),
                 asI8p(f.fragment), asI8p(f.sides)}));
        }
        auto* at = llvm::ArrayType::get(protoTy, entries.size());
        auto* protosGv = new llvm::GlobalVariable(M, at, true, llvm::GlobalValue::PrivateLinkage,
                                                  llvm::ConstantArray::get(at, entries), "protos");
        llvm::Constant* first =
            llvm::ConstantExpr::getInBoundsGetElementPtr(at, protosGv, llvm::ArrayRef<llvm::Constant*>{B.getInt64(0), B.getInt64(0)});
        new llvm::GlobalVariable(
            M, libTy, true, llvm::GlobalValue::ExternalLinkage,
            llvm::ConstantStruct::get(libTy, {B.getInt32(MMT_ABI_VERSION), B.getInt32(uint32_t(entries.size())), first}),
            MMT_LIBRARY_SYMBOL);
    }

    // ------------------------------------------------------------------ state
    sema::SemaContext& S;
    llvm::Module& M;
    llvm::LLVMContext& C;
    llvm::IRBuilder<> B;
    llvm::Type *i1, *i8, *i16, *i32, *i64;
    llvm::PointerType* i8p;
    llvm::StructType *ctxTy, *valueTy, *resultTy, *keyTy, *classTy, *streamTy, *fragTy, *attrTy, *protoTy, *libTy;
    llvm::PointerType* ctxPtr;
    llvm::FunctionType *emitFnTy, *validateTy, *getterTy, *keyFnTy, *sidesTy, *classifyTy, *pduTy, *updateTy, *initTy,
        *streamFnTy, *fragFnTy;
    Function *hFind, *hIcase, *hToInt, *hAppend, *hMark, *hMemcmp;
    std::map<const ast::Protocol*, std::vector<Rule>> rules;
    std::map<const ast::Protocol*, ProtoFns> fns;
    std::map<std::string, Value*> strings;
};

} // namespace

const char* lowererBuildStamp() {
    // A cached object is only as good as the code generator that made it.
    return __DATE__ " " __TIME__;
}

void lower(sema::SemaContext& sema, llvm::Module& module) {
    Lowerer l(sema, module);
    l.run();
}

} // namespace mmtc::codegen
