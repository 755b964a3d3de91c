// Lowering to LLVM IR. Every protocol becomes a set of stage functions over an
// mmt_ctx (a view of the packet): validate, analyse, one getter per request-based
// attribute, key, sides, classify, pdu_length, update, init_state, stream, fragment.
//
// Structures are parsed by a walker that visits fields in wire order and keeps, per
// field, only where it starts and ends (SSA values; allocas only for fields that may be
// absent, which mem2reg turns into phis). Integer values are read where an expression
// uses them, so a walk emits no load nobody needs. Runs of fixed-size fields share one
// bounds check. Every read is bounds-checked against the region being parsed; a failure
// reports a status, a reason, the field and its offset in the functions that report
// failures (validate, analyse, pdu_length) and simply branches to "absent" elsewhere.
//
// Compile time is a feature: the IR handed to the O1 pipeline is kept small. Getters do
// not re-check `requires` (validate did), walk only as far as their value needs and do
// not walk into the list or record they end on; analyse raises event attributes while it
// walks the list they are declared on instead of walking it again per attribute.
#include "codegen/lower.h"

#include "mmt/abi.h"
#include "sema/sema.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <bitset>
#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

namespace mmtc::codegen {

namespace {

using ast::Expr;
using ast::Field;
using llvm::BasicBlock;
using llvm::Function;
using llvm::Value;

constexpr uint64_t kDefaultWeightValue =
    100;                                    // `over ... when`, `classify by value`, `classify when`
constexpr uint64_t kDefaultWeightPort = 10; // port rules: the weakest evidence

/// The bytes a walk may read: [.., end). A declared size (`size n`, a switch size) is a
/// region of its own: running past it is malformed, whereas running past the data is
/// truncated (more data could complete the packet; it could never fix a wrong length).
struct Region {
    Value* end = nullptr;
    bool sized = false;
};

/// Where one parsed field lies. SSA values when the walk that parsed the field dominates
/// every use; allocas (`mem`) for fields that may be absent (under `if`, in a switch arm).
struct Slot {
    bool mem = false;
    Value* present = nullptr; // mem only: i1 alloca
    Value* off = nullptr;     // i64: first byte (of the group, for bit fields)
    Value* end = nullptr;     // i64: one past the last byte (bytes fields)
    Value* count = nullptr;   // i64: element count (counted lists)
    Value* region = nullptr;  // i64: end of the region a list or record lies in
    bool sized = false;       // lists and records: `region` is a declared size
    // The integer value, read once per basic block (reads are lazy, see fieldValue), or
    // once for the whole function (memoBB null) when read right after the walk.
    Value* memo = nullptr;
    BasicBlock* memoBB = nullptr;
};
using Scope = std::map<const Field*, Slot>;

/// An evaluated expression.
struct EV {
    // Ints: a list of integers computed at run time (`sort`, `no_grease`, `without`): `count`
    // 64-bit values at `v` in scratch memory, each `intWidth` bits wide in the source.
    enum K { Int, Bool, Bytes, Addr, RecordRef, ListRef, Projection, Ints };
    K k = Int;
    Value* v = nullptr;     // Int: i64, Bool: i1, Bytes/Addr: i8*
    Value* len = nullptr;   // Bytes: i64
    unsigned addrLen = 0;   // Addr: 4, 6 or 16
    unsigned intWidth = 64; // Ints: the elements' width
    // RecordRef / ListRef / Projection
    const ast::Record* rec = nullptr;
    const Field* list = nullptr;
    Value* off = nullptr;
    Value* region = nullptr;
    bool sized = false;
    Value* count = nullptr;
    // Projection: elements of `list` (starting at off), then member steps on each
    std::vector<const Field*> steps;
};

/// How a function reports a failure.
enum class FailMode {
    Result, // store status, reason, field and offset into the mmt_parse_result, return status
    Status, // pdu_length: only truncated (need more) versus malformed matters
    Silent  // getters and the like: a failure means "no value"
};

struct FnState {
    Function* F = nullptr;
    ast::Protocol* proto = nullptr;
    Value* ctx = nullptr;
    Value* data = nullptr; // i8*
    Value* len = nullptr;  // i64
    BasicBlock* bodyBB = nullptr;
    FailMode mode = FailMode::Silent;
    Value* res = nullptr;            // Result: the mmt_parse_result
    BasicBlock* failBB = nullptr;    // where failures go (malformed, in Status mode)
    BasicBlock* failTrunc = nullptr; // Status: where truncation goes
    bool checkRequires = false;
    std::vector<Scope*> scopes;
    std::vector<std::unique_ptr<Scope>> ownedScopes;
    // The parsing position field-level expressions see (`remaining`): the start of the
    // item being parsed and the end of its region.
    Value* posOff = nullptr;
    Value* posEnd = nullptr;
    // header_len / payload_len, from the parse result or computed by calling validate
    Value* headerLen = nullptr;
    Value* payloadLen = nullptr;
    Value* lengthsOk = nullptr; // i1, when computed here
    // analyse: event attributes raised while the list they walk is parsed, keyed by the
    // chain of fields (lists and records) that leads to that list
    struct Hook {
        const ast::Attribute* attr;
        std::vector<const Field*> rest; // member steps from each element to the value
    };
    std::map<std::vector<const Field*>, std::vector<Hook>> hooks;
    std::vector<const Field*> walkPath;
    Value* eventsWanted = nullptr;
    Value* emitFn = nullptr;
    llvm::AllocaInst* eventValue = nullptr;
    // Getters: the values computed by a function of their own (see outlined) are computed
    // once, at their first use, and kept here.
    bool memoLets = false;
    struct LetMemo {
        llvm::AllocaInst *done, *ok, *value;
    };
    std::map<const ast::Let*, LetMemo> letMemo;
};

/// Sends failures to `bb`, silently, until destroyed.
class Redirect {
  public:
    Redirect(FnState& st, BasicBlock* bb)
        : st_(st), bb_(st.failBB), trunc_(st.failTrunc), mode_(st.mode) {
        st.failBB = bb;
        st.failTrunc = nullptr;
        st.mode = FailMode::Silent;
    }
    ~Redirect() {
        st_.failBB = bb_;
        st_.failTrunc = trunc_;
        st_.mode = mode_;
    }

  private:
    FnState& st_;
    BasicBlock* bb_;
    BasicBlock* trunc_;
    FailMode mode_;
};

std::string fnName(const ast::Protocol& p, const std::string& stage) {
    return p.name + "." + stage;
}

/// Which items of header and body a walk covers; the last may be walked lazily.
struct WalkPlan {
    size_t headerItems = 0;
    size_t bodyItems = 0;
    std::set<const Field*> need;
};

class Lowerer {
  public:
    Lowerer(sema::SemaContext* sema, llvm::Module& m) : S(sema), M(m), C(m.getContext()), B(C) {
        i1 = llvm::Type::getInt1Ty(C);
        i8 = llvm::Type::getInt8Ty(C);
        i16 = llvm::Type::getInt16Ty(C);
        i32 = llvm::Type::getInt32Ty(C);
        i64 = llvm::Type::getInt64Ty(C);
        i8p = llvm::PointerType::getUnqual(i8);
        declareTypes();
        declareHelpers();
    }

    /// The ABI structs under the module's data layout.
    std::vector<AbiStruct> layouts() {
        const llvm::DataLayout& dl = M.getDataLayout();
        std::vector<AbiStruct> out;
        auto add = [&](const char* name, llvm::StructType* t) {
            const llvm::StructLayout* sl = dl.getStructLayout(t);
            AbiStruct a{name, sl->getSizeInBytes(), {}};
            for (unsigned i = 0; i < t->getNumElements(); ++i)
                a.offsets.push_back(sl->getElementOffset(i));
            out.push_back(a);
        };
        add("mmt_value", valueTy);
        add("mmt_parse_result", resultTy);
        add("mmt_ctx", ctxTy);
        add("mmt_key", keyTy);
        add("mmt_class_result", classTy);
        add("mmt_stream_info", streamTy);
        add("mmt_frag_info", fragTy);
        add("mmt_attr", attrTy);
        add("mmt_proto", protoTy);
        add("mmt_library", libTy);
        return out;
    }

    /// Lowers the protocols in `mine` (every protocol when empty) into a library part
    /// exported as `symbol`. Functions of other protocols that these call (a parent's
    /// getters for `parent.x`) are defined here too, privately: each part links alone.
    void run(const std::vector<const ast::Protocol*>& mine, const std::string& symbol) {
        // Protocols in id order, `frame` (id 0) first: the runtime indexes them as given.
        std::vector<ast::Protocol*> protos = S->ordered;
        std::stable_sort(protos.begin(), protos.end(),
                         [](const ast::Protocol* a, const ast::Protocol* b) {
                             return a->id.value_or(0) < b->id.value_or(0);
                         });
        collectRules(protos);
        for (ast::Protocol* p : protos) declareProtocol(*p);
        std::vector<ast::Protocol*> here;
        for (ast::Protocol* p : protos)
            if (mine.empty() || std::find(mine.begin(), mine.end(), p) != mine.end())
                here.push_back(p);
        for (ast::Protocol* p : here) defineProtocol(*p);
        // What the functions defined so far call, until nothing more is needed.
        for (bool more = true; more;) {
            more = false;
            for (auto& [fn, define] : definers_)
                if (fn->empty() && !fn->use_empty()) {
                    define();
                    more = true;
                }
        }
        for (auto& [fn, define] : definers_)
            if (fn->empty()) fn->eraseFromParent();
        emitLibrary(here, symbol);
    }

  private:
    // ------------------------------------------------------------------ types
    void declareTypes() {
        // Layouts mirror abi.h field for field (checked by test_codegen_library.cpp).
        ctxTy = llvm::StructType::create(C, "mmt_ctx");
        valueTy = llvm::StructType::create(C, {i32, i32, i64, i8p}, "mmt_value");
        resultTy = llvm::StructType::create(C, {i32, i32, i32, i32, i32, i32, i32, i32},
                                            "mmt_parse_result");
        auto* keySide = llvm::ArrayType::get(i8, MMT_KEY_SIDE_MAX);
        keyTy =
            llvm::StructType::create(C, {i16, i16, i16, i16, keySide, keySide, keySide}, "mmt_key");
        classTy = llvm::StructType::create(C, {i32, i32, i32}, "mmt_class_result");
        streamTy = llvm::StructType::create(C, {i32, i32}, "mmt_stream_info");
        fragTy = llvm::StructType::create(C, {i64, i32, i32}, "mmt_frag_info");
        ctxPtr = llvm::PointerType::getUnqual(ctxTy);
        emitFnTy = llvm::FunctionType::get(
            llvm::Type::getVoidTy(C), {ctxPtr, i32, llvm::PointerType::getUnqual(valueTy)}, false);
        ctxTy->setBody({i8p, i32, i32, i32, i32, ctxPtr, i8p, i32, i32, i8p, i64,
                        llvm::PointerType::getUnqual(emitFnTy), i8p});
        attrTy = llvm::StructType::create(C, {i8p, i32, i32, i8p, i32, i32}, "mmt_attr");
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
                                            i8p},
                                           "mmt_proto");
        libTy = llvm::StructType::create(C, {i32, i32, llvm::PointerType::getUnqual(protoTy)},
                                         "mmt_library");

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

    void declareHelpers() {
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
        hQuicInitial =
            decl("mmt_rt_quic_initial", i64,
                 {ctxPtr, i8p, i64, i64, i64, i8p, i64, llvm::PointerType::getUnqual(i8p)});
        hAssembleInit = decl("mmt_rt_assemble_init", i8p, {ctxPtr, i64});
        hAssemblePut =
            decl("mmt_rt_assemble_put", llvm::Type::getVoidTy(C), {i8p, i64, i64, i8p, i64});
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

    // ------------------------------------------------------------------ rules
    struct Rule {
        const ast::Protocol* owner; // the protocol whose classify runs the rule
        const ast::Protocol* target;
        uint64_t weight;
        int kindOrder;               // value/when rules before port rules at equal weight
        const Expr* when = nullptr;  // condition in owner's scope
        const Expr* value = nullptr; // `classify by value (value) { cases => target }`
        const std::vector<ast::CaseValue>* cases = nullptr;
        bool byPort = false;
        bool quoted = false; // MMT_CLASS_QUOTED: the payload quotes another packet
        size_t order = 0;
    };

    void collectRules(const std::vector<ast::Protocol*>& protos) {
        size_t order = 0;
        for (ast::Protocol* p : protos) {
            for (const auto& o : p->overs) {
                if (!o.parentProto) continue;
                Rule r{o.parentProto, p,
                       o.weight.value_or(o.byPort ? kDefaultWeightPort : kDefaultWeightValue),
                       o.byPort ? 1 : 0};
                r.when = o.when.get();
                r.byPort = o.byPort;
                r.quoted = o.quoted;
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
        std::map<const ast::Let*, Function*> letFns;
    };

    Function* makeFn(llvm::FunctionType* ty, const std::string& name) {
        // Reached only through the library table: internal, and their addresses carry no
        // meaning, so that identical functions (a u16 at offset 2 is a u16 at offset 2, in
        // TCP or in UDP) are merged before optimization (see jit.cpp).
        Function* f = Function::Create(ty, Function::InternalLinkage, name, M);
        f->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
        f->addFnAttr(llvm::Attribute::NoUnwind);
        return f;
    }

    static bool hasEvents(const ast::Protocol& p) {
        for (const auto& a : p.attributes)
            if (a->isEvent) return true;
        return false;
    }

    static const ast::KeyParts* keyOf(const ast::Protocol& p) {
        if (p.key) return &*p.key;
        if (p.session && p.session->key) return &*p.session->key;
        return nullptr;
    }

    static unsigned stateBytes(const ast::Type& t) { return t.kind == ast::Type::Ipv6 ? 16 : 8; }

    void declareProtocol(ast::Protocol& p) {
        ProtoFns& f = fns[&p];
        f.validate = makeFn(validateTy, fnName(p, "validate"));
        if (hasEvents(p) || p.body) f.analyse = makeFn(validateTy, fnName(p, "analyse"));
        unsigned ev = 0;
        for (const auto& a : p.attributes) {
            if (a->isEvent) {
                // Every definition of one event attribute raises it under its first's bit.
                f.eventIndex[a.get()] = a->first ? f.eventIndex[a->first] : ev++;
                continue;
            }
            f.getters[a.get()] = makeFn(getterTy, fnName(p, "get." + a->name));
        }
        if (p.key || p.session) f.key = makeFn(keyFnTy, fnName(p, "key"));
        if (const ast::KeyParts* k = keyOf(p); k && k->bidirectional && k->a.size() == 1)
            f.sides = makeFn(sidesTy, fnName(p, "sides"));
        if (rules.count(&p)) f.classify = makeFn(classifyTy, fnName(p, "classify"));
        if (p.pduLength || (p.pduUntil && p.pduBody))
            f.pdu = makeFn(pduTy, fnName(p, "pdu_length"));
        unsigned off = 0;
        for (const auto& v : p.state) {
            f.stateOffset[v.get()] = off;
            off += stateBytes(v->type);
        }
        f.stateSize = off;
        if (!p.updates.empty()) f.update = makeFn(updateTy, fnName(p, "update"));
        if (!p.state.empty()) f.init = makeFn(initTy, fnName(p, "init_state"));
        if (p.stream) f.stream = makeFn(streamFnTy, fnName(p, "stream"));
        if (p.fragment) f.fragment = makeFn(fragFnTy, fnName(p, "fragment"));
        // How to define each function on its own, for parts that only call it.
        ast::Protocol* pp = &p;
        auto add = [&](Function* fn, std::function<void()> define) {
            if (fn) definers_.push_back({fn, std::move(define)});
        };
        add(f.validate, [this, pp] { defineValidate(*pp, fns[pp]); });
        add(f.analyse, [this, pp] { defineAnalyse(*pp, fns[pp]); });
        for (auto& [attr, fn] : f.getters) {
            const ast::Attribute* a = attr;
            Function* g = fn;
            add(fn, [this, pp, a, g] { defineGetter(*pp, *a, g); });
        }
        for (const auto& l : p.lets) {
            if (!outlined(*l)) continue;
            const ast::Let* lp = l.get();
            Function* fn = makeFn(getterTy, fnName(p, "let." + l->name));
            f.letFns[lp] = fn;
            add(fn, [this, pp, lp, fn] { defineLetFn(*pp, *lp, fn); });
        }
        add(f.key, [this, pp] { defineKey(*pp, fns[pp]); });
        add(f.sides, [this, pp] { defineSides(*pp, fns[pp]); });
        add(f.classify, [this, pp] { defineClassify(*pp, fns[pp]); });
        add(f.pdu, [this, pp] { definePdu(*pp, fns[pp]); });
        add(f.update, [this, pp] { defineUpdate(*pp, fns[pp]); });
        add(f.init, [this, pp] { defineInit(*pp, fns[pp]); });
        add(f.stream, [this, pp] { defineStream(*pp, fns[pp]); });
        add(f.fragment, [this, pp] { defineFragment(*pp, fns[pp]); });
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

    Function* getterOf(const ast::Protocol* p, const ast::Attribute* a) {
        auto it = fns.find(p);
        if (it == fns.end()) return nullptr;
        auto g = it->second.getters.find(a);
        return g == it->second.getters.end() ? nullptr : g->second;
    }

    // ------------------------------------------------------------------ function scaffolding
    /// Starts a function body. `failBB` receives failures; in Result mode it returns the
    /// status the failing site stored.
    FnState begin(Function* F, ast::Protocol& p, FailMode mode) {
        FnState st;
        st.F = F;
        st.proto = &p;
        st.mode = mode;
        // `entry` holds the allocas; code starts in `body`.
        BasicBlock* entry = BasicBlock::Create(C, "entry", F);
        st.bodyBB = BasicBlock::Create(C, "body", F);
        B.SetInsertPoint(entry);
        st.ctx = F->getArg(0);
        st.data = B.CreateLoad(i8p, B.CreateStructGEP(ctxTy, st.ctx, 0), "data");
        st.len = B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, 1)), i64, "len");
        B.CreateBr(st.bodyBB);
        st.failBB = BasicBlock::Create(C, "fail", F);
        if (mode == FailMode::Status) st.failTrunc = BasicBlock::Create(C, "fail.short", F);
        if (mode == FailMode::Result) {
            st.res = F->getArg(1);
            B.SetInsertPoint(st.failBB);
            B.CreateRet(B.CreateLoad(i32, B.CreateStructGEP(resultTy, st.res, 0)));
        }
        B.SetInsertPoint(st.bodyBB);
        return st;
    }

    llvm::AllocaInst* entryAlloca(FnState& st, llvm::Type* ty, const char* name) {
        llvm::IRBuilder<> eb(&st.F->getEntryBlock(), st.F->getEntryBlock().begin());
        return eb.CreateAlloca(ty, nullptr, name);
    }

    Scope& pushScope(FnState& st) {
        st.ownedScopes.push_back(std::make_unique<Scope>());
        st.scopes.push_back(st.ownedScopes.back().get());
        return *st.scopes.back();
    }

    void storeResult(Value* res, unsigned idx, Value* v) {
        B.CreateStore(v, B.CreateStructGEP(resultTy, res, idx));
    }

    /// Two adjacent 32-bit fields `first, second` as the 64-bit word that stores both.
    Value* pairOf(Value* first, Value* second) {
        bool little = M.getDataLayout().isLittleEndian();
        Value* lo = little ? first : second;
        Value* hi = little ? second : first;
        return B.CreateOr(B.CreateZExt(lo, i64), B.CreateShl(B.CreateZExt(hi, i64), 32));
    }
    /// Stores fields `idx` and `idx + 1` (`idx` even) of a parse result at once.
    void storeResultPair(Value* res, unsigned idx, Value* a, Value* b) {
        Value* p = B.CreateBitCast(B.CreateStructGEP(resultTy, res, idx),
                                   llvm::PointerType::getUnqual(i64));
        B.CreateStore(pairOf(a, b), p);
    }

    /// Records a failure (as the function's mode says) and leaves the current block.
    void fail(FnState& st, uint32_t status, uint32_t reason, const Field* f, Value* offset) {
        failDyn(st, status, reason,
                B.getInt32(f && f->index >= 0 ? uint32_t(f->index) : uint32_t(-1)), offset);
    }
    void failDyn(FnState& st, uint32_t status, uint32_t reason, Value* field, Value* offset) {
        switch (st.mode) {
        case FailMode::Result:
            if (auto* c = llvm::dyn_cast<llvm::ConstantInt>(field);
                c && c->getSExtValue() < 0xffff) {
                // One cold call per failure site rather than four stores: failure sites are
                // many (a validate has one per check) and rarely run.
                uint32_t code = status | reason << 8 | uint32_t(c->getSExtValue() + 1) << 16;
                B.CreateCall(hFail, {st.res, B.getInt32(code), offset ? offset : B.getInt64(0)});
            } else {
                storeResult(st.res, 0, B.getInt32(status));
                storeResult(st.res, 1, B.getInt32(reason));
                storeResult(st.res, 2, field);
                storeResult(st.res, 3, B.CreateTrunc(offset ? offset : B.getInt64(0), i32));
            }
            B.CreateBr(st.failBB);
            break;
        case FailMode::Status:
            B.CreateBr(status == MMT_TRUNCATED ? st.failTrunc : st.failBB);
            break;
        case FailMode::Silent:
            B.CreateBr(st.failBB);
            break;
        }
    }

    /// Branches to a failure when `bad` holds; continues in a fresh block otherwise.
    void failIf(FnState& st, Value* bad, uint32_t status, uint32_t reason, const Field* f,
                Value* offset, const char* name = "ok") {
        BasicBlock* cont = BasicBlock::Create(C, name, st.F);
        if (st.mode == FailMode::Silent) {
            B.CreateCondBr(bad, st.failBB, cont);
        } else if (st.mode == FailMode::Status) {
            B.CreateCondBr(bad, status == MMT_TRUNCATED ? st.failTrunc : st.failBB, cont);
        } else {
            BasicBlock* failHere = BasicBlock::Create(C, "fail.here", st.F);
            B.CreateCondBr(bad, failHere, cont);
            B.SetInsertPoint(failHere);
            fail(st, status, reason, f, offset);
        }
        B.SetInsertPoint(cont);
    }

    /// Status and reason of reading past `r`: the data (truncated) or a size (malformed).
    static uint32_t boundsStatus(const Region& r) {
        return r.sized ? MMT_MALFORMED : MMT_TRUNCATED;
    }
    static uint32_t boundsReason(const Region& r) {
        return r.sized ? MMT_FAIL_LENGTH : MMT_FAIL_BOUNDS;
    }

    /// An evaluation failure (absent optional value, division by zero...).
    void evalFail(FnState& st) { fail(st, MMT_MALFORMED, MMT_FAIL_ARITHMETIC, nullptr, nullptr); }
    void evalFailIf(FnState& st, Value* bad) {
        failIf(st, bad, MMT_MALFORMED, MMT_FAIL_ARITHMETIC, nullptr, nullptr);
    }
    /// After a failure that the checker rules out: keeps emitting into an unreachable block.
    void deadEnd(FnState& st) {
        evalFail(st);
        B.SetInsertPoint(BasicBlock::Create(C, "dead", st.F));
    }

    /// Offset arithmetic: offsets and lengths within a packet stay far below 2^63, and
    /// saying so spares the optimizer from proving it again and again.
    Value* addOff(Value* a, Value* b) {
        return B.CreateAdd(a, b, "", /*HasNUW=*/true, /*HasNSW=*/true);
    }
    Value* subOff(Value* a, Value* b) {
        return B.CreateSub(a, b, "", /*HasNUW=*/true, /*HasNSW=*/true);
    }

    Value* ptrAt(FnState& st, Value* off) { return B.CreateInBoundsGEP(i8, st.data, off); }

    /// Reads an unsigned integer of `bytes` bytes at `base + off` (bounds already checked).
    Value* readIntAt(Value* base, Value* off, unsigned bytes, ast::ByteOrder order) {
        Value* p = B.CreateInBoundsGEP(i8, base, off);
        if (bytes == 1) return B.CreateZExt(B.CreateLoad(i8, p), i64);
        if (bytes == 2 || bytes == 4 || bytes == 8) {
            llvm::Type* t = llvm::IntegerType::get(C, bytes * 8);
            Value* v = B.CreateAlignedLoad(t, B.CreateBitCast(p, llvm::PointerType::getUnqual(t)),
                                           llvm::MaybeAlign(1));
            if (order == ast::ByteOrder::Big)
                v = B.CreateCall(llvm::Intrinsic::getDeclaration(&M, llvm::Intrinsic::bswap, {t}),
                                 {v});
            return bytes == 8 ? v : B.CreateZExt(v, i64);
        }
        // 3, 5, 6, 7 bytes: assembled byte by byte (the backend merges the loads).
        Value* acc = B.getInt64(0);
        for (unsigned i = 0; i < bytes; ++i) {
            Value* b =
                B.CreateZExt(B.CreateLoad(i8, B.CreateInBoundsGEP(i8, p, B.getInt64(i))), i64);
            unsigned shift = order == ast::ByteOrder::Big ? 8 * (bytes - 1 - i) : 8 * i;
            acc = B.CreateOr(acc, shift ? B.CreateShl(b, shift) : b);
        }
        return acc;
    }

    ast::ByteOrder orderOf(const Field& f, const ast::Protocol& p) {
        return f.type.order.value_or(p.byteOrder);
    }

    static unsigned scalarBytes(const Field& f) {
        switch (f.type.kind) {
        case ast::TypeSpec::Int:
            return f.type.width / 8;
        case ast::TypeSpec::Mac:
            return 6;
        case ast::TypeSpec::Ipv4:
            return 4;
        case ast::TypeSpec::Ipv6:
            return 16;
        default:
            return 0;
        }
    }

    /// The value of an integer field at `off` (the group's first byte for bit fields).
    Value* readField(FnState& st, const Field& f, Value* off) {
        if (f.type.kind == ast::TypeSpec::Varint) return readVarint(st, f, off);
        if (f.isBitField) {
            Value* group = readIntAt(st.data, off, f.groupBits / 8, ast::ByteOrder::Big);
            unsigned shift = f.groupBits - f.bitOffset - f.type.width;
            Value* v = shift ? B.CreateLShr(group, shift) : group;
            if (f.type.width < 64)
                v = B.CreateAnd(v, B.getInt64((uint64_t(1) << f.type.width) - 1));
            return v;
        }
        return readIntAt(st.data, off, f.type.width / 8, orderOf(f, *st.proto));
    }

    /// The value of a variable-length integer at `off`, whose bytes the walk that parsed it
    /// checked (they are there, and the encoding ends within its maximum).
    Value* readVarint(FnState& st, const Field& f, Value* off) {
        BasicBlock* done = BasicBlock::Create(C, f.name + ".varint", st.F);
        std::vector<std::pair<Value*, BasicBlock*>> in;
        Value* b0 = B.CreateZExt(B.CreateLoad(i8, ptrAt(st, off)), i64);
        if (f.type.varint == ast::VarintStyle::Quic) {
            // The top two bits give the size, 1 << prefix bytes, big-endian under them.
            Value* prefix = B.CreateLShr(b0, 6);
            BasicBlock* one = BasicBlock::Create(C, "quic.1", st.F);
            llvm::SwitchInst* sw = B.CreateSwitch(prefix, one, 3);
            B.SetInsertPoint(one);
            in.push_back({B.CreateAnd(b0, B.getInt64(0x3f)), one});
            B.CreateBr(done);
            for (unsigned k = 1; k <= 3; ++k) {
                unsigned bytes = 1u << k;
                BasicBlock* bb = BasicBlock::Create(C, "quic." + std::to_string(bytes), st.F);
                sw->addCase(B.getInt64(k), bb);
                B.SetInsertPoint(bb);
                Value* v = readIntAt(st.data, off, bytes, ast::ByteOrder::Big);
                uint64_t mask = (uint64_t(1) << (8 * bytes - 2)) - 1;
                in.push_back({B.CreateAnd(v, B.getInt64(mask)), bb});
                B.CreateBr(done);
            }
        } else {
            // 7 bits a byte, the low group first; 0x80 says another byte follows.
            Value* acc = B.CreateAnd(b0, B.getInt64(0x7f));
            Value* b = b0;
            for (unsigned i = 1; i < f.type.maxBytes; ++i) {
                BasicBlock* more = BasicBlock::Create(C, "varint.more", st.F);
                in.push_back({acc, B.GetInsertBlock()});
                B.CreateCondBr(B.CreateICmpNE(B.CreateAnd(b, B.getInt64(0x80)), B.getInt64(0)),
                               more, done);
                B.SetInsertPoint(more);
                b = B.CreateZExt(B.CreateLoad(i8, ptrAt(st, addOff(off, B.getInt64(i)))), i64);
                acc = B.CreateOr(acc, B.CreateShl(B.CreateAnd(b, B.getInt64(0x7f)), 7 * i));
            }
            in.push_back({acc, B.GetInsertBlock()});
            B.CreateBr(done);
        }
        B.SetInsertPoint(done);
        llvm::PHINode* phi = B.CreatePHI(i64, unsigned(in.size()), f.name + ".value");
        for (auto [v, bb] : in) phi->addIncoming(v, bb);
        return phi;
    }

    /// Walks a variable-length integer at `off`: its bytes must be there, and a `varint`
    /// must end within its maximum size (one that goes on is malformed). Returns its end.
    Value* walkVarint(FnState& st, const Field& f, Slot& s, Value* off, Region r) {
        unsigned pre = 0;
        Value* end = nullptr;
        if (f.type.varint == ast::VarintStyle::Quic) {
            need(st, off, r, B.getInt64(1), &f, pre, 0);
            Value* b0 = B.CreateZExt(B.CreateLoad(i8, ptrAt(st, off)), i64);
            Value* n = B.CreateShl(B.getInt64(1), B.CreateLShr(b0, 6));
            need(st, off, r, n, &f, pre, 0);
            end = addOff(off, n);
        } else {
            BasicBlock* done = BasicBlock::Create(C, f.name + ".end", st.F);
            std::vector<std::pair<unsigned, BasicBlock*>> in;
            for (unsigned i = 0; i < f.type.maxBytes; ++i) {
                need(st, off, r, B.getInt64(i + 1), &f, pre, 0);
                Value* b = B.CreateLoad(i8, ptrAt(st, addOff(off, B.getInt64(i))));
                Value* more = B.CreateICmpSLT(b, B.getInt8(0)); // 0x80 set
                if (i + 1 == f.type.maxBytes) {
                    failIf(st, more, MMT_MALFORMED, MMT_FAIL_CAP, &f, off, "varint.ends");
                    in.push_back({i + 1, B.GetInsertBlock()});
                    B.CreateBr(done);
                    break;
                }
                BasicBlock* next = BasicBlock::Create(C, "varint.next", st.F);
                in.push_back({i + 1, B.GetInsertBlock()});
                B.CreateCondBr(more, next, done);
                B.SetInsertPoint(next);
            }
            B.SetInsertPoint(done);
            llvm::PHINode* len = B.CreatePHI(i64, unsigned(in.size()), f.name + ".len");
            for (auto [n, bb] : in) len->addIncoming(B.getInt64(n), bb);
            end = addOff(off, len);
        }
        slotSet(st, s, &Slot::end, end);
        return end;
    }

    // ------------------------------------------------------------------ slots
    Value* slotGet(const Slot& s, Value* Slot::*m) {
        Value* v = s.*m;
        if (!s.mem || !v) return v;
        return B.CreateLoad(i64, v);
    }
    void slotSet(FnState& st, Slot& s, Value* Slot::*m, Value* v) {
        if (!s.mem) {
            s.*m = v;
            return;
        }
        if (!(s.*m)) {
            // Allocas start at 0 so that a read on a path that never stored is defined.
            llvm::AllocaInst* a = entryAlloca(st, i64, "slot");
            llvm::IRBuilder<> eb(st.F->getEntryBlock().getTerminator());
            eb.CreateStore(B.getInt64(0), a);
            s.*m = a;
        }
        B.CreateStore(v, s.*m);
    }

    /// A slot that may be absent: `present` starts false here (at each walk: in a loop,
    /// the previous element's field must not show through).
    Slot& memSlot(FnState& st, Scope& scope, const Field& f) {
        Slot& s = scope[&f];
        if (!s.mem) {
            s = Slot{};
            s.mem = true;
            s.present = entryAlloca(st, i1, (f.name + ".present").c_str());
            llvm::IRBuilder<> eb(st.F->getEntryBlock().getTerminator());
            eb.CreateStore(llvm::ConstantInt::getFalse(C), s.present);
        }
        B.CreateStore(llvm::ConstantInt::getFalse(C), s.present);
        return s;
    }

    /// Fields of a switch, which may or may not be walked: absent until their arm runs.
    void predeclare(FnState& st, Scope& scope, const std::vector<ast::FieldItem>& items) {
        for (const auto& it : items) {
            if (it.kind == ast::FieldItem::Kind::Field)
                memSlot(st, scope, *it.field);
            else if (it.kind == ast::FieldItem::Kind::Switch)
                for (const auto& arm : it.sw->arms) predeclare(st, scope, arm.items);
        }
    }

    // ------------------------------------------------------------------ sizes
    /// Static size in bytes of an unconditional fixed-size field, or 0 when not fixed.
    /// A bit field counts its whole group at its first member and 0 for the others.
    static unsigned fixedSize(const Field& f) {
        if (f.cond || f.isList) return 0;
        switch (f.type.kind) {
        case ast::TypeSpec::Int:
            if (f.isBitField) return f.bitOffset == 0 ? f.groupBits / 8 : 0;
            return f.type.width / 8;
        case ast::TypeSpec::Mac:
            return 6;
        case ast::TypeSpec::Ipv4:
            return 4;
        case ast::TypeSpec::Ipv6:
            return 16;
        case ast::TypeSpec::Bytes:
            if (f.extent == ast::Extent::Count && f.count && f.count->kind == Expr::Kind::Int &&
                f.count->intValue > 0 && f.count->intValue < 65536)
                return unsigned(f.count->intValue);
            return 0;
        default:
            return 0;
        }
    }
    static bool isFixedItem(const ast::FieldItem& it) {
        if (it.kind == ast::FieldItem::Kind::Requires) return true; // costs no bytes
        if (it.kind != ast::FieldItem::Kind::Field) return false;
        const Field& f = *it.field;
        if (f.type.kind == ast::TypeSpec::Int && f.isBitField && f.bitOffset != 0 && !f.cond)
            return true;
        return fixedSize(f) > 0;
    }

    /// The field a failure of `items[i]` (the first of a bit group) is blamed on: itself,
    /// or when it is padding, the first named field of its group.
    static const Field* blameOf(const std::vector<ast::FieldItem>& items, size_t i) {
        const Field* f = items[i].field.get();
        if (!f->anonymous() || !f->isBitField) return f;
        for (size_t j = i; j < items.size() && items[j].kind == ast::FieldItem::Kind::Field; ++j) {
            const Field* g = items[j].field.get();
            if (!g->isBitField || (j > i && g->bitOffset == 0)) break;
            if (!g->anonymous()) return g;
        }
        return f;
    }

    // ------------------------------------------------------------------ the walker
    /// Parses items [0, limit) of `items` from `off` within `r` into `scope`; returns the
    /// offset after the last item. `lazy`, when it is the last item walked, is a list or
    /// record whose position is recorded without walking its contents (whoever reads it
    /// walks it; nothing after it needs its end).
    Value* walkItems(FnState& st, const std::vector<ast::FieldItem>& items, size_t limit,
                     Value* off, Region r, Scope& scope, const Field* lazy = nullptr) {
        unsigned prechecked = 0;
        limit = std::min(limit, items.size());
        for (size_t i = 0; i < limit; ++i) {
            const ast::FieldItem& it = items[i];
            st.posOff = off;
            st.posEnd = r.end;
            if (prechecked == 0 && isFixedItem(it) && it.kind == ast::FieldItem::Kind::Field) {
                // One bounds check for the whole run of fixed-size fields that starts here.
                unsigned run = 0;
                std::vector<std::pair<const Field*, unsigned>> ends;
                for (size_t j = i; j < limit && isFixedItem(items[j]); ++j) {
                    if (items[j].kind != ast::FieldItem::Kind::Field) continue;
                    unsigned sz = fixedSize(*items[j].field);
                    if (sz == 0) continue;
                    run += sz;
                    ends.push_back({blameOf(items, j), run});
                }
                if (run > 0) {
                    emitRunCheck(st, off, r, run, ends);
                    prechecked = run;
                }
            }
            switch (it.kind) {
            case ast::FieldItem::Kind::Requires:
                if (st.checkRequires) {
                    Value* ok = evalBool(st, *it.requires_);
                    failIf(st, B.CreateNot(ok), MMT_MALFORMED, MMT_FAIL_REQUIRES, nullptr, off,
                           "requires.ok");
                }
                break;
            case ast::FieldItem::Kind::Switch:
                prechecked = 0;
                off = walkSwitch(st, *it.sw, off, r, scope);
                break;
            case ast::FieldItem::Kind::Field: {
                bool lazyHere = i + 1 == limit && it.field.get() == lazy;
                off = walkField(st, *it.field, off, r, scope, prechecked, lazyHere);
                break;
            }
            }
        }
        return off;
    }

    void emitRunCheck(FnState& st, Value* off, Region r, unsigned run,
                      const std::vector<std::pair<const Field*, unsigned>>& ends) {
        Value* bad = B.CreateICmpUGT(addOff(off, B.getInt64(run)), r.end);
        BasicBlock* cont = BasicBlock::Create(C, "run.ok", st.F);
        auto weights = llvm::MDBuilder(C).createBranchWeights(1, 1000);
        if (st.mode != FailMode::Result) {
            B.CreateCondBr(
                bad, st.mode == FailMode::Status ? (r.sized ? st.failBB : st.failTrunc) : st.failBB,
                cont, weights);
            B.SetInsertPoint(cont);
            return;
        }
        BasicBlock* failHere = BasicBlock::Create(C, "short", st.F);
        B.CreateCondBr(bad, failHere, cont, weights);
        B.SetInsertPoint(failHere);
        if (ends.size() == 1) {
            fail(st, boundsStatus(r), boundsReason(r), ends[0].first, off);
        } else {
            // Cold path: a helper names the first field that does not fit, from a table of
            // (end, field) pairs, rather than a chain of selects in every function.
            std::vector<llvm::Constant*> table;
            for (const auto& [f, end] : ends) {
                table.push_back(B.getInt32(end));
                table.push_back(B.getInt32(uint32_t(f->index)));
            }
            auto* at = llvm::ArrayType::get(i32, table.size());
            auto* gv = new llvm::GlobalVariable(M, at, true, llvm::GlobalValue::PrivateLinkage,
                                                llvm::ConstantArray::get(at, table), "run");
            gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
            Value* first = B.CreateInBoundsGEP(at, gv, {B.getInt64(0), B.getInt64(0)});
            B.CreateCall(hShort,
                         {st.res, off, subOff(r.end, off), first, B.getInt32(uint32_t(ends.size())),
                          B.getInt32(boundsStatus(r)), B.getInt32(boundsReason(r))});
            B.CreateBr(st.failBB);
        }
        B.SetInsertPoint(cont);
    }

    /// A bounds check for `n` bytes at `off`, unless a run check already covered them.
    void need(FnState& st, Value* off, Region r, Value* n, const Field* f, unsigned& prechecked,
              unsigned staticN) {
        if (staticN && prechecked >= staticN) {
            prechecked -= staticN;
            return;
        }
        prechecked = 0;
        Value* bad = B.CreateICmpUGT(addOff(off, n), r.end);
        failIf(st, bad, boundsStatus(r), boundsReason(r), f, off);
    }

    Value* walkField(FnState& st, const Field& f, Value* off, Region r, Scope& scope,
                     unsigned& prechecked, bool lazy) {
        auto found = scope.find(&f);
        bool mem = f.cond || (found != scope.end() && found->second.mem);
        Slot* sp = nullptr;
        if (mem) {
            sp = &memSlot(st, scope, f);
        } else {
            sp = &scope[&f];
            *sp = Slot{};
        }
        Slot& s = *sp;
        if (fixedSize(f) == 0 && !(f.isBitField && f.bitOffset != 0)) prechecked = 0;
        BasicBlock* joinBB = nullptr;
        BasicBlock* beforeBB = nullptr;
        Value* offBefore = off;
        if (f.cond) {
            Value* c = evalBool(st, *f.cond);
            BasicBlock* doBB = BasicBlock::Create(C, f.name + ".if", st.F);
            joinBB = BasicBlock::Create(C, f.name + ".join", st.F);
            beforeBB = B.GetInsertBlock();
            B.CreateCondBr(c, doBB, joinBB);
            B.SetInsertPoint(doBB);
            prechecked = 0;
        }
        if (s.mem) B.CreateStore(llvm::ConstantInt::getTrue(C), s.present);
        slotSet(st, s, &Slot::off, off);
        Value* next = off;
        if (f.isList) {
            next = walkList(st, f, s, off, r, lazy);
        } else {
            switch (f.type.kind) {
            case ast::TypeSpec::Int:
            case ast::TypeSpec::Mac:
            case ast::TypeSpec::Ipv4:
            case ast::TypeSpec::Ipv6: {
                if (f.isBitField) {
                    // The group's bytes are checked at its first member and consumed by its last.
                    unsigned gbytes = f.groupBits / 8;
                    if (f.bitOffset == 0)
                        need(st, off, r, B.getInt64(gbytes), &f, prechecked, gbytes);
                    if (f.bitOffset + f.type.width == f.groupBits)
                        next = addOff(off, B.getInt64(gbytes));
                    break;
                }
                unsigned bytes = scalarBytes(f);
                need(st, off, r, B.getInt64(bytes), &f, prechecked, bytes);
                next = addOff(off, B.getInt64(bytes));
                break;
            }
            case ast::TypeSpec::Varint:
                prechecked = 0;
                next = walkVarint(st, f, s, off, r);
                break;
            case ast::TypeSpec::Bytes:
                next = walkBytes(st, f, s, off, r, prechecked);
                break;
            case ast::TypeSpec::Record: {
                prechecked = 0;
                Region inner = r;
                if (f.size) inner = Region{addOff(off, evalSize(st, *f.size, f, off, r)), true};
                slotSet(st, s, &Slot::region, inner.end);
                s.sized = inner.sized;
                if (lazy) break;
                if (f.size && st.mode == FailMode::Silent) {
                    // Nothing here validates, and the size says where the record ends:
                    // whoever reads a member walks the record then.
                    next = inner.end;
                    break;
                }
                Scope& sub = pushScope(st);
                st.walkPath.push_back(&f);
                Value* recEnd = walkItems(st, f.type.record->items, SIZE_MAX, off, inner, sub);
                st.walkPath.pop_back();
                st.scopes.pop_back();
                next = f.size ? inner.end : recEnd;
                break;
            }
            case ast::TypeSpec::Unknown:
                break;
            }
        }
        st.posOff = off;
        st.posEnd = r.end;
        if (st.checkRequires)
            for (const auto& rq : f.requires_) {
                Value* ok = evalBool(st, *rq);
                failIf(st, B.CreateNot(ok), MMT_MALFORMED, MMT_FAIL_REQUIRES, &f, off,
                       "requires.ok");
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

    /// Evaluates a length or size: negative is malformed, beyond the region is truncated
    /// (or malformed when the region is itself a declared size).
    Value* evalSize(FnState& st, const Expr& e, const Field* f, Value* off, Region r) {
        Value* n = evalInt(st, e);
        failIf(st, B.CreateICmpSLT(n, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH, f, off,
               "len.ok");
        failIf(st, B.CreateICmpUGT(n, subOff(r.end, off)), boundsStatus(r), boundsReason(r), f, off,
               "fits");
        return n;
    }
    Value* evalSize(FnState& st, const Expr& e, const Field& f, Value* off, Region r) {
        return evalSize(st, e, &f, off, r);
    }

    Value* walkBytes(FnState& st, const Field& f, Slot& s, Value* off, Region r,
                     unsigned& prechecked) {
        switch (f.extent) {
        case ast::Extent::Count: {
            Value* n;
            if (unsigned fixed = fixedSize(f)) {
                need(st, off, r, B.getInt64(fixed), &f, prechecked, fixed);
                n = B.getInt64(fixed);
            } else {
                prechecked = 0;
                n = evalSize(st, *f.count, f, off, r);
            }
            Value* e = addOff(off, n);
            slotSet(st, s, &Slot::end, e);
            return e;
        }
        case ast::Extent::UntilString: {
            prechecked = 0;
            Value* avail = subOff(r.end, off);
            Value* window = avail;
            uint64_t tlen = f.terminator.size();
            Value* cap = nullptr;
            if (f.max) {
                cap = B.getInt64(int64_t(*f.max + tlen));
                window = B.CreateSelect(B.CreateICmpULT(avail, cap), avail, cap);
            }
            Value* idx = B.CreateCall(hFind, {ptrAt(st, off), window, stringConst(f.terminator),
                                              B.getInt64(int64_t(tlen))});
            Value* notFound = B.CreateICmpSLT(idx, B.getInt64(0));
            if (f.max && st.mode == FailMode::Result) {
                // No terminator among max + terminator bytes: the cap is broken whatever
                // follows. Fewer bytes than that: the data (or region) ends too early.
                BasicBlock* nf = BasicBlock::Create(C, "term.missing", st.F);
                BasicBlock* found = BasicBlock::Create(C, "term.found", st.F);
                B.CreateCondBr(notFound, nf, found);
                B.SetInsertPoint(nf);
                BasicBlock* capBB = BasicBlock::Create(C, "term.cap", st.F);
                BasicBlock* truncBB = BasicBlock::Create(C, "term.trunc", st.F);
                B.CreateCondBr(B.CreateICmpUGE(avail, cap), capBB, truncBB);
                B.SetInsertPoint(capBB);
                fail(st, MMT_MALFORMED, MMT_FAIL_CAP, &f, off);
                B.SetInsertPoint(truncBB);
                fail(st, boundsStatus(r), MMT_FAIL_TERMINATOR, &f, off);
                B.SetInsertPoint(found);
            } else if (f.max && st.mode == FailMode::Status) {
                Value* capped = B.CreateAnd(notFound, B.CreateICmpUGE(avail, cap));
                failIf(st, capped, MMT_MALFORMED, MMT_FAIL_CAP, &f, off, "term.uncapped");
                failIf(st, notFound, boundsStatus(r), MMT_FAIL_TERMINATOR, &f, off, "term.found");
            } else {
                failIf(st, notFound, boundsStatus(r), MMT_FAIL_TERMINATOR, &f, off, "term.found");
            }
            Value* valueEnd = addOff(off, idx);
            slotSet(st, s, &Slot::end, valueEnd);
            return addOff(valueEnd, B.getInt64(int64_t(tlen)));
        }
        case ast::Extent::Rest:
        default:
            prechecked = 0;
            slotSet(st, s, &Slot::end, r.end);
            return r.end;
        }
    }

    using ElemBody = std::function<void(Value* elemOff, Value* elemEnd, Scope* elemScope)>;

    /// Walks the elements of list `f` from `start` within `region` (`count` of them when
    /// counted), calling `body` after each element is parsed, in the element's scope.
    /// `body` must leave the builder in a block that falls through to the next element.
    /// Returns the offset after the list.
    Value* listLoop(FnState& st, const Field& f, Value* start, Region region, Value* count,
                    const ElemBody& body) {
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
        case ast::Extent::Count:
            exitIf(B.CreateICmpSGE(idx, count), "more");
            break;
        case ast::Extent::Size:
        case ast::Extent::Rest:
            exitIf(B.CreateICmpUGE(off, region.end), "more");
            break;
        case ast::Extent::UntilString: {
            uint64_t tlen = f.terminator.size();
            Value* room = B.CreateICmpULE(addOff(off, B.getInt64(int64_t(tlen))), region.end);
            BasicBlock* cmpBB = BasicBlock::Create(C, "term.cmp", st.F);
            BasicBlock* noTerm = BasicBlock::Create(C, "term.no", st.F);
            BasicBlock* atTerm = BasicBlock::Create(C, "term.yes", st.F);
            B.CreateCondBr(room, cmpBB, noTerm);
            B.SetInsertPoint(cmpBB);
            Value* eq =
                B.CreateICmpEQ(B.CreateCall(hMemcmp, {ptrAt(st, off), stringConst(f.terminator),
                                                      B.getInt64(int64_t(tlen))}),
                               B.getInt32(0));
            B.CreateCondBr(eq, atTerm, noTerm);
            B.SetInsertPoint(atTerm);
            B.CreateStore(addOff(off, B.getInt64(int64_t(tlen))), offA);
            B.CreateBr(exitBB);
            B.SetInsertPoint(noTerm);
            // No terminator and no data left: the list is cut short.
            failIf(st, B.CreateICmpUGE(off, region.end), boundsStatus(region), MMT_FAIL_TERMINATOR,
                   &f, off, "elem");
            break;
        }
        case ast::Extent::UntilExpr:
            failIf(st, B.CreateICmpUGE(off, region.end), boundsStatus(region), MMT_FAIL_TERMINATOR,
                   &f, off, "elem");
            break;
        case ast::Extent::Single:
            break;
        }
        if (f.max)
            failIf(st, B.CreateICmpUGE(idx, B.getInt64(int64_t(*f.max))), MMT_MALFORMED,
                   MMT_FAIL_CAP, &f, off, "capped");
        // One element.
        Value* elemEnd = nullptr;
        Scope* elemScope = nullptr;
        if (f.type.kind == ast::TypeSpec::Record) {
            elemScope = &pushScope(st);
            elemEnd = walkItems(st, f.type.record->items, SIZE_MAX, off, region, *elemScope);
        } else {
            unsigned bytes = scalarBytes(f);
            unsigned pre = 0;
            need(st, off, region, B.getInt64(bytes), &f, pre, 0);
            elemEnd = addOff(off, B.getInt64(bytes));
        }
        body(off, elemEnd, elemScope);
        Value* stop = nullptr;
        if (f.extent == ast::Extent::UntilExpr) {
            st.posOff = elemEnd;
            st.posEnd = region.end;
            stop = evalBool(st, *f.until);
        }
        if (elemScope) st.scopes.pop_back();
        B.CreateStore(elemEnd, offA);
        B.CreateStore(addOff(idx, B.getInt64(1)), idxA);
        llvm::Instruction* back = stop ? B.CreateCondBr(stop, exitBB, head) : B.CreateBr(head);
        // Element loops are bounded by `max`, sometimes small: unrolling them only makes
        // code (a packet rarely has as many elements as the cap allows).
        back->setMetadata(llvm::LLVMContext::MD_loop, noUnroll());
        B.SetInsertPoint(exitBB);
        return B.CreateLoad(i64, offA);
    }

    llvm::MDNode* noUnroll() {
        llvm::Metadata* disable =
            llvm::MDNode::get(C, {llvm::MDString::get(C, "llvm.loop.unroll.disable")});
        llvm::TempMDTuple self = llvm::MDNode::getTemporary(C, llvm::None);
        llvm::MDNode* loop = llvm::MDNode::getDistinct(C, {self.get(), disable});
        loop->replaceOperandWith(0, loop);
        return loop;
    }

    Value* walkList(FnState& st, const Field& f, Slot& s, Value* off, Region r, bool lazy) {
        Region region = r;
        if (f.size) region = Region{addOff(off, evalSize(st, *f.size, f, off, r)), true};
        Value* count = B.getInt64(0);
        if (f.extent == ast::Extent::Count) {
            count = evalInt(st, *f.count);
            failIf(st, B.CreateICmpSLT(count, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH, &f,
                   off, "count.ok");
        }
        slotSet(st, s, &Slot::region, region.end);
        slotSet(st, s, &Slot::count, count);
        s.sized = region.sized;
        if (lazy) return off;
        if (f.size && st.mode == FailMode::Silent) {
            // Nothing here validates: the elements are walked by whoever reads them.
            slotSet(st, s, &Slot::end, region.end);
            return region.end;
        }
        st.walkPath.push_back(&f);
        auto hook = st.hooks.find(st.walkPath);
        Value* listEnd = listLoop(st, f, off, region, count,
                                  [&](Value* elemOff, Value* elemEnd, Scope* elemScope) {
                                      if (hook == st.hooks.end()) return;
                                      EV elem = elementAt(st, f, elemOff, elemEnd, region.sized);
                                      for (const FnState::Hook& h : hook->second)
                                          raiseHooked(st, h, elem, elemScope);
                                  });
        st.walkPath.pop_back();
        Value* next = f.size ? region.end : listEnd;
        slotSet(st, s, &Slot::end, next);
        return next;
    }

    Value* walkSwitch(FnState& st, const ast::Switch& sw, Value* off, Region r, Scope& scope) {
        Value* sel = evalInt(st, *sw.selector);
        Region region = r;
        if (sw.size) region = Region{addOff(off, evalSize(st, *sw.size, nullptr, off, r)), true};
        for (const auto& arm : sw.arms) predeclare(st, scope, arm.items);
        BasicBlock* join = BasicBlock::Create(C, "switch.end", st.F);
        std::vector<std::pair<BasicBlock*, Value*>> incoming;
        const ast::SwitchArm* dflt = nullptr;
        std::vector<std::pair<const ast::SwitchArm*, BasicBlock*>> arms;
        bool wide = false;
        for (const auto& arm : sw.arms) {
            if (arm.isDefault) {
                dflt = &arm;
                continue;
            }
            arms.push_back({&arm, BasicBlock::Create(C, "case", st.F)});
            for (const auto& cv : arm.values) wide = wide || cv.hi - cv.lo >= 64;
        }
        BasicBlock* dfltBB = BasicBlock::Create(C, "case.default", st.F);
        if (!wide) {
            // One `switch` over every value of every arm (the checker made them distinct).
            std::set<uint64_t> seen;
            llvm::SwitchInst* si = B.CreateSwitch(sel, dfltBB);
            for (auto& [arm, bb] : arms)
                for (const auto& cv : arm->values)
                    for (uint64_t v = cv.lo;; ++v) {
                        if (seen.insert(v).second) si->addCase(B.getInt64(v), bb);
                        if (v == cv.hi) break;
                    }
        } else {
            // Arms in order, the first that matches wins.
            for (auto& [arm, bb] : arms) {
                BasicBlock* nextBB = BasicBlock::Create(C, "case.next", st.F);
                branchCases(sel, arm->values, bb, nextBB);
                B.SetInsertPoint(nextBB);
            }
            B.CreateBr(dfltBB);
        }
        for (auto& [arm, bb] : arms) {
            B.SetInsertPoint(bb);
            Value* o =
                walkItems(st, arm->items, SIZE_MAX, off, region, scope, armLazy(st, sw, *arm));
            incoming.push_back({B.GetInsertBlock(), o});
            B.CreateBr(join);
        }
        B.SetInsertPoint(dfltBB);
        Value* o = off;
        if (dflt)
            o = walkItems(st, dflt->items, SIZE_MAX, off, region, scope, armLazy(st, sw, *dflt));
        incoming.push_back({B.GetInsertBlock(), o});
        B.CreateBr(join);
        B.SetInsertPoint(join);
        if (sw.size) return region.end;
        llvm::PHINode* phi = B.CreatePHI(i64, unsigned(incoming.size()), "switch.off");
        for (auto& [bb, v] : incoming) phi->addIncoming(v, bb);
        return phi;
    }

    /// In a sized switch nothing needs the end of an arm: when nothing validates either,
    /// a list or record ending the arm is only located, not walked.
    static const Field* armLazy(const FnState& st, const ast::Switch& sw,
                                const ast::SwitchArm& arm) {
        if (!sw.size || st.mode != FailMode::Silent || arm.items.empty()) return nullptr;
        const ast::FieldItem& last = arm.items.back();
        if (last.kind != ast::FieldItem::Kind::Field) return nullptr;
        const Field& f = *last.field;
        return f.isList || f.type.kind == ast::TypeSpec::Record ? &f : nullptr;
    }

    /// Branches to `yes` when `x` is one of `cases`, to `no` otherwise; ends the block.
    /// Many values become one `switch` (compact IR, a jump table or bit test in the end).
    void branchCases(Value* x, const std::vector<ast::CaseValue>& cases, BasicBlock* yes,
                     BasicBlock* no) {
        std::set<uint64_t> singles;
        std::vector<const ast::CaseValue*> wide;
        for (const auto& cv : cases) {
            if (cv.hi - cv.lo < 64)
                for (uint64_t v = cv.lo;; ++v) {
                    singles.insert(v);
                    if (v == cv.hi) break;
                }
            else
                wide.push_back(&cv);
        }
        if (singles.size() <= 2) {
            Value* m = nullptr;
            for (const auto& cv : cases) m = m ? B.CreateOr(m, inCase(x, cv)) : inCase(x, cv);
            B.CreateCondBr(m ? m : llvm::ConstantInt::getFalse(C), yes, no);
            return;
        }
        for (const ast::CaseValue* cv : wide) {
            BasicBlock* next = BasicBlock::Create(C, "case.wide", no->getParent());
            B.CreateCondBr(inCase(x, *cv), yes, next);
            B.SetInsertPoint(next);
        }
        llvm::SwitchInst* sw = B.CreateSwitch(x, no, unsigned(singles.size()));
        for (uint64_t v : singles) sw->addCase(B.getInt64(v), yes);
    }

    /// `x` is one of `cases`, as an i1.
    Value* matchCases(FnState& st, Value* x, const std::vector<ast::CaseValue>& cases) {
        uint64_t values = 0;
        for (const auto& cv : cases)
            if (cv.hi - cv.lo < 64) values += cv.hi - cv.lo + 1;
        if (values <= 2) {
            Value* m = llvm::ConstantInt::getFalse(C);
            for (const auto& cv : cases) m = B.CreateOr(m, inCase(x, cv));
            return m;
        }
        BasicBlock* yes = BasicBlock::Create(C, "in.yes", st.F);
        BasicBlock* join = BasicBlock::Create(C, "in.join", st.F);
        branchCases(x, cases, yes, join);
        B.SetInsertPoint(yes);
        B.CreateBr(join);
        B.SetInsertPoint(join);
        llvm::PHINode* phi = B.CreatePHI(i1, 2);
        for (BasicBlock* pred : llvm::predecessors(join))
            phi->addIncoming(
                pred == yes ? llvm::ConstantInt::getTrue(C) : llvm::ConstantInt::getFalse(C), pred);
        return phi;
    }

    Value* inCase(Value* x, const ast::CaseValue& cv) {
        if (cv.lo == cv.hi) return B.CreateICmpEQ(x, B.getInt64(cv.lo));
        // lo <= x <= hi as one unsigned comparison.
        return B.CreateICmpULE(B.CreateSub(x, B.getInt64(cv.lo)), B.getInt64(cv.hi - cv.lo));
    }

    // ------------------------------------------------------------------ walking a protocol
    static bool containsField(const std::vector<ast::FieldItem>& items, const Field* f) {
        for (const auto& it : items) {
            if (it.kind == ast::FieldItem::Kind::Field && it.field.get() == f) return true;
            if (it.kind == ast::FieldItem::Kind::Switch)
                for (const auto& arm : it.sw->arms)
                    if (containsField(arm.items, f)) return true;
        }
        return false;
    }
    static bool containsSwitch(const ast::Switch& sw, const Field* f) {
        for (const auto& arm : sw.arms)
            if (containsField(arm.items, f)) return true;
        return false;
    }

    /// Position of the top-level item of header (part 0) or body (part 1) holding `f`.
    static std::pair<int, size_t> itemOf(const ast::Protocol& p, const Field* f) {
        const ast::Record* parts[2] = {p.header.get(), p.body.get()};
        for (int k = 0; k < 2; ++k) {
            if (!parts[k]) continue;
            const auto& items = parts[k]->items;
            for (size_t i = 0; i < items.size(); ++i)
                if ((items[i].kind == ast::FieldItem::Kind::Field && items[i].field.get() == f) ||
                    (items[i].kind == ast::FieldItem::Kind::Switch &&
                     containsSwitch(*items[i].sw, f)))
                    return {k, i};
        }
        return {-1, 0};
    }

    WalkPlan planFor(const ast::Protocol& p, const std::set<const Field*>& need) {
        WalkPlan plan;
        plan.need = need;
        for (const Field* f : need) {
            auto [part, i] = itemOf(p, f);
            if (part == 0) plan.headerItems = std::max(plan.headerItems, i + 1);
            if (part == 1) plan.bodyItems = std::max(plan.bodyItems, i + 1);
        }
        if (plan.bodyItems > 0 && p.header) plan.headerItems = p.header->items.size();
        return plan;
    }

    /// Fields of header and body named (directly or through values) by expressions.
    void collectFields(const ast::Protocol& p, const Expr& e, std::set<const Field*>& out,
                       std::set<const ast::Let*>& seen) {
        for (const auto& o : e.operands) collectFields(p, *o, out, seen);
        if (e.kind == Expr::Kind::Name &&
            (e.ref.kind == ast::Ref::Field || e.ref.kind == ast::Ref::BitName)) {
            const Field* f = e.ref.field;
            if (f->owner == p.header.get() || (p.body && f->owner == p.body.get())) out.insert(f);
        } else if (e.kind == Expr::Kind::Name && e.ref.kind == ast::Ref::Let && e.ref.let &&
                   seen.insert(e.ref.let).second) {
            collectFields(p, *e.ref.let->value, out, seen);
        }
    }
    std::set<const Field*> fieldsOf(const ast::Protocol& p,
                                    std::initializer_list<const Expr*> exprs) {
        std::set<const Field*> out;
        std::set<const ast::Let*> seen;
        for (const Expr* e : exprs)
            if (e) collectFields(p, *e, out, seen);
        return out;
    }

    /// The item a walk of `items` up to `limit` may walk lazily: its last item, when it
    /// is a needed list or record that nothing in this walk must see the end of.
    const Field* lazyItem(FnState& st, const std::vector<ast::FieldItem>& items, size_t limit,
                          const std::set<const Field*>& need) {
        if (limit == 0 || limit > items.size()) return nullptr;
        const ast::FieldItem& it = items[limit - 1];
        if (it.kind != ast::FieldItem::Kind::Field || !need.count(it.field.get())) return nullptr;
        const Field& f = *it.field;
        if (!f.isList && f.type.kind != ast::TypeSpec::Record) return nullptr;
        if (st.checkRequires && !f.requires_.empty()) return nullptr;
        return &f;
    }

    /// Walks header then body as far as `plan` says, into one protocol scope. The last
    /// item may be walked lazily unless `wholeLast`. Returns the end of the header walk.
    Value* walkProtocol(FnState& st, const ast::Protocol& p, const WalkPlan& plan,
                        bool wholeLast = false, Value** endOut = nullptr) {
        Scope& scope = pushScope(st);
        Value* off = B.getInt64(0);
        Region data{st.len, false};
        if (p.header && plan.headerItems) {
            const Field* lazy = wholeLast || plan.bodyItems
                                    ? nullptr
                                    : lazyItem(st, p.header->items, plan.headerItems, plan.need);
            off = walkItems(st, p.header->items, plan.headerItems, off, data, scope, lazy);
        }
        Value* headerEnd = off;
        if (p.body && plan.bodyItems) {
            const Field* lazy =
                wholeLast ? nullptr : lazyItem(st, p.body->items, plan.bodyItems, plan.need);
            off = walkItems(st, p.body->items, plan.bodyItems, off, data, scope, lazy);
        }
        preload(st, plan.need);
        if (endOut) *endOut = off;
        return headerEnd;
    }

    /// Reads the integer fields of `need` right after the walk that parsed them: the
    /// values dominate the rest of the function, so each is read once.
    void preload(FnState& st, const std::set<const Field*>& need) {
        if (st.scopes.empty()) return;
        Scope& scope = *st.scopes.back();
        for (const Field* f : need) {
            auto it = scope.find(f);
            if (it == scope.end() || it->second.mem || f->isList ||
                (f->type.kind != ast::TypeSpec::Int && f->type.kind != ast::TypeSpec::Varint))
                continue;
            Slot& s = it->second;
            if (!s.off) continue;
            s.memo = readField(st, *f, s.off);
            s.memoBB = nullptr;
        }
    }

    static bool usesPayload(const Expr& e, std::set<const ast::Let*>& seen) {
        if (e.ref.kind == ast::Ref::Payload) return true;
        if (e.kind == Expr::Kind::Name && e.ref.kind == ast::Ref::Let && e.ref.let &&
            seen.insert(e.ref.let).second && usesPayload(*e.ref.let->value, seen))
            return true;
        for (const auto& o : e.operands)
            if (usesPayload(*o, seen)) return true;
        return false;
    }

    /// header_len / payload_len of this packet, computed once per function by calling the
    /// protocol's validate at the top of the body (it dominates every use); each use fails
    /// when validate did.
    void ensureLengths(FnState& st) {
        if (st.headerLen) {
            if (st.lengthsOk) evalFailIf(st, B.CreateNot(st.lengthsOk));
            return;
        }
        const ast::Protocol& p = *st.proto;
        if (p.builtin) {
            st.headerLen = B.getInt64(0);
            st.payloadLen = st.len;
            return;
        }
        llvm::AllocaInst* res = entryAlloca(st, resultTy, "lengths");
        llvm::IRBuilder<> top(st.bodyBB, st.bodyBB->getFirstInsertionPt());
        Value* status = top.CreateCall(fns[&p].validate, {st.ctx, res});
        st.lengthsOk = top.CreateICmpEQ(status, top.getInt32(MMT_OK));
        st.headerLen =
            top.CreateZExt(top.CreateLoad(i32, top.CreateStructGEP(resultTy, res, 4)), i64);
        st.payloadLen =
            top.CreateZExt(top.CreateLoad(i32, top.CreateStructGEP(resultTy, res, 5)), i64);
        evalFailIf(st, B.CreateNot(st.lengthsOk));
    }

    /// The lengths come from the parse result validate filled (classify).
    void lengthsFromResult(FnState& st, Value* res) {
        if (st.proto->builtin) {
            st.headerLen = B.getInt64(0);
            st.payloadLen = st.len;
            return;
        }
        st.headerLen = B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(resultTy, res, 4)), i64);
        st.payloadLen = B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(resultTy, res, 5)), i64);
    }

    // ------------------------------------------------------------------ stage functions
    void defineValidate(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.validate, p, FailMode::Result);
        st.checkRequires = true;
        Value* res = st.res;
        // The result is written once, on success, a pair of fields at a time; a failure
        // writes its four fields (the lengths are then not meaningful).
        auto succeed = [&](Value* hl, Value* pl, Value* truncated) {
            storeResultPair(res, 0, B.getInt32(MMT_OK), B.getInt32(MMT_FAIL_NONE));
            storeResultPair(res, 2, B.getInt32(uint32_t(-1)), B.getInt32(0));
            storeResultPair(res, 4, hl, pl);
            storeResultPair(res, 6, truncated, B.getInt32(0));
            B.CreateRet(B.getInt32(MMT_OK));
        };
        if (p.builtin) {
            succeed(B.getInt32(0), B.CreateTrunc(st.len, i32), B.getInt32(0));
            return;
        }
        // The whole header, and the body as far as the lengths need it.
        WalkPlan plan =
            planFor(p, fieldsOf(p, {p.headerLength ? p.headerLength->value.get() : nullptr,
                                    p.payloadLength ? p.payloadLength->value.get() : nullptr}));
        plan.headerItems = p.header ? p.header->items.size() : 0;
        Value* walked = walkProtocol(st, p, plan, /*wholeLast=*/true);
        Value* hl = walked;
        if (p.headerLength) {
            hl = evalInt(st, *p.headerLength->value);
            failIf(st, B.CreateICmpSLT(hl, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH, nullptr,
                   B.getInt64(0), "hl.ok");
            failIf(st, B.CreateICmpULT(hl, walked), MMT_MALFORMED, MMT_FAIL_LENGTH, nullptr,
                   B.getInt64(0), "hl.covers");
            failIf(st, B.CreateICmpUGT(hl, st.len), MMT_TRUNCATED, MMT_FAIL_BOUNDS, nullptr,
                   B.getInt64(0), "hl.fits");
        }
        Value* avail = B.CreateSub(st.len, hl);
        Value* pl = avail;
        Value* truncated = B.getInt32(0);
        if (p.payloadLength) {
            Value* want = evalInt(st, *p.payloadLength->value);
            failIf(st, B.CreateICmpSLT(want, B.getInt64(0)), MMT_MALFORMED, MMT_FAIL_LENGTH,
                   nullptr, hl, "pl.ok");
            Value* over = B.CreateICmpUGT(want, avail);
            pl = B.CreateSelect(over, avail, want);
            truncated = B.CreateZExt(over, i32);
        }
        succeed(B.CreateTrunc(hl, i32), B.CreateTrunc(pl, i32), truncated);
    }

    /// An event attribute can be raised while its list is walked when everything it
    /// reads of the protocol comes before that list.
    /// The chain of fields an `on` expression names (`answers`, `a.b.c`), or false.
    static bool fieldChain(const Expr& e, std::vector<const Field*>& out) {
        if (e.kind == Expr::Kind::Name && e.ref.kind == ast::Ref::Field) {
            out.push_back(e.ref.field);
            return true;
        }
        if (e.kind == Expr::Kind::Member && e.ref.kind == ast::Ref::Field &&
            fieldChain(*e.operands[0], out)) {
            out.push_back(e.ref.field);
            return true;
        }
        return false;
    }

    /// An event attribute can be raised while the walk meets the list it is declared on
    /// (the last list of its `on` chain) when everything it reads of the protocol is
    /// parsed before that chain starts.
    bool hookFor(const ast::Protocol& p, const ast::Attribute& a, std::vector<const Field*>& key,
                 std::vector<const Field*>& rest) {
        std::vector<const Field*> chain;
        if (!a.on || !fieldChain(*a.on, chain)) return false;
        auto at = itemOf(p, chain[0]);
        if (at.first < 0) return false;
        size_t last = chain.size();
        for (size_t i = chain.size(); i-- > 0;)
            if (chain[i]->isList) {
                last = i;
                break;
            }
        if (last == chain.size()) return false;
        for (const Field* g : fieldsOf(p, {a.value.get(), a.cond.get()}))
            if (itemOf(p, g) >= at) return false;
        key.assign(chain.begin(), chain.begin() + long(last) + 1);
        rest.assign(chain.begin() + long(last) + 1, chain.end());
        return true;
    }

    void defineAnalyse(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.analyse, p, FailMode::Result);
        Value* res = st.res;
        storeResult(res, 0, B.getInt32(MMT_OK));
        storeResult(res, 1, B.getInt32(MMT_FAIL_NONE));
        storeResult(res, 2, B.getInt32(uint32_t(-1)));
        storeResult(res, 3, B.getInt32(0));
        st.eventsWanted = B.CreateLoad(i64, B.CreateStructGEP(ctxTy, st.ctx, 10));
        st.emitFn = B.CreateLoad(llvm::PointerType::getUnqual(emitFnTy),
                                 B.CreateStructGEP(ctxTy, st.ctx, 11));
        st.eventValue = entryAlloca(st, valueTy, "event");
        std::vector<const ast::Attribute*> after;
        for (const auto& a : p.attributes) {
            if (!a->isEvent) continue;
            std::vector<const Field*> key, rest;
            if (hookFor(p, *a, key, rest))
                st.hooks[key].push_back(FnState::Hook{a.get(), rest});
            else
                after.push_back(a.get());
        }
        // Validate checked the header's constraints; the body's are checked here.
        Scope& scope = pushScope(st);
        Region data{st.len, false};
        Value* off = B.getInt64(0);
        if (p.header) off = walkItems(st, p.header->items, SIZE_MAX, off, data, scope);
        st.checkRequires = true;
        if (p.body) walkItems(st, p.body->items, SIZE_MAX, off, data, scope);
        st.hooks.clear();
        for (const ast::Attribute* a : after) {
            if (!a->on) {
                raiseEvent(st, *a, nullptr);
                continue;
            }
            // The rest: walked again for the event.
            BasicBlock* next = BasicBlock::Create(C, a->name + ".done", st.F);
            BasicBlock* doBB = BasicBlock::Create(C, a->name + ".wanted", st.F);
            B.CreateCondBr(wantedBit(st, *a), doBB, next);
            B.SetInsertPoint(doBB);
            {
                Redirect r(st, next);
                EV list = eval(st, *a->on);
                forEachElement(st, list, [&](EV elem, Scope* elemScope, BasicBlock* cont) {
                    raiseInScope(st, *a, elem, elemScope);
                    B.CreateBr(cont);
                });
            }
            B.CreateBr(next);
            B.SetInsertPoint(next);
        }
        B.CreateRet(B.getInt32(MMT_OK));
    }

    /// Raises `a` for one element whose fields are in `elemScope`, or in a record not
    /// walked yet (the last step of a projection), which is walked for the occasion.
    void raiseInScope(FnState& st, const ast::Attribute& a, const EV& elem, Scope* elemScope) {
        if (!elemScope && elem.k == EV::RecordRef && (a.value || a.cond)) {
            BasicBlock* skip = BasicBlock::Create(C, a.name + ".skip", st.F);
            {
                Redirect r(st, skip);
                Scope& sc = pushScope(st);
                walkItems(st, elem.rec->items, SIZE_MAX, elem.off, Region{elem.region, elem.sized},
                          sc);
                raiseEvent(st, a, &elem, false);
                st.scopes.pop_back();
                B.CreateBr(skip);
            }
            B.SetInsertPoint(skip);
            return;
        }
        if (elemScope) st.scopes.push_back(elemScope);
        raiseEvent(st, a, &elem, false);
        if (elemScope) st.scopes.pop_back();
    }

    /// A hooked event attribute, for one element of the list the walk just parsed.
    void raiseHooked(FnState& st, const FnState::Hook& h, const EV& elem, Scope* elemScope) {
        const ast::Attribute& a = *h.attr;
        if (h.rest.empty()) {
            raiseEvent(st, a, &elem);
            return;
        }
        BasicBlock* cont = BasicBlock::Create(C, a.name + ".hooked", st.F);
        BasicBlock* doBB = BasicBlock::Create(C, a.name + ".wanted", st.F);
        B.CreateCondBr(wantedBit(st, a), doBB, cont);
        B.SetInsertPoint(doBB);
        {
            Redirect r(st, cont);
            applySteps(
                st, elem, elemScope, h.rest, 0,
                [&](EV v, Scope* sc, BasicBlock* c2) {
                    raiseInScope(st, a, v, sc);
                    B.CreateBr(c2);
                },
                cont);
        }
        B.SetInsertPoint(cont);
    }

    Value* wantedBit(FnState& st, const ast::Attribute& a) {
        unsigned bit = fns[st.proto].eventIndex[&a];
        return B.CreateICmpNE(B.CreateAnd(st.eventsWanted, B.getInt64(uint64_t(1) << bit)),
                              B.getInt64(0));
    }

    /// Raises one occurrence of event attribute `a` (of list element `elem`, whose fields
    /// are in the innermost scope, when given). An occurrence that cannot be computed is
    /// skipped; nothing else is.
    void raiseEvent(FnState& st, const ast::Attribute& a, const EV* elem, bool checkWanted = true) {
        BasicBlock* skip = BasicBlock::Create(C, a.name + ".next", st.F);
        if (checkWanted) {
            BasicBlock* doBB = BasicBlock::Create(C, a.name + ".wanted", st.F);
            B.CreateCondBr(wantedBit(st, a), doBB, skip);
            B.SetInsertPoint(doBB);
        }
        {
            Redirect r(st, skip);
            if (a.cond) {
                Value* c = evalBool(st, *a.cond);
                BasicBlock* yes = BasicBlock::Create(C, "cond.yes", st.F);
                B.CreateCondBr(c, yes, skip);
                B.SetInsertPoint(yes);
            }
            EV v = a.value ? eval(st, *a.value) : elem ? *elem : EV{};
            fillValue(st, st.eventValue, v, a.type);
            B.CreateCall(emitFnTy, st.emitFn,
                         {st.ctx, B.getInt32(uint32_t(a.index)), st.eventValue});
            B.CreateBr(skip);
        }
        B.SetInsertPoint(skip);
    }

    static uint32_t abiType(const ast::Type& t) {
        switch (t.kind) {
        case ast::Type::Int:
            return MMT_T_UINT;
        case ast::Type::Bool:
            return MMT_T_BOOL;
        case ast::Type::Bytes:
            return MMT_T_BYTES;
        case ast::Type::String:
            return MMT_T_STRING;
        case ast::Type::Mac:
            return MMT_T_MAC;
        case ast::Type::Ipv4:
            return MMT_T_IPV4;
        case ast::Type::Ipv6:
            return MMT_T_IPV6;
        default:
            return MMT_T_NONE;
        }
    }

    /// Stores an evaluated value into an mmt_value of the attribute's type; integers are
    /// masked to the declared width.
    void fillValue(FnState& st, Value* out, const EV& v, const ast::Type& t) {
        Value* len = B.getInt32(0);
        Value* u = B.getInt64(0);
        Value* ptr = llvm::ConstantPointerNull::get(i8p);
        switch (v.k) {
        case EV::Int:
            u = v.v;
            if (t.kind == ast::Type::Int && t.width < 64)
                u = B.CreateAnd(u, B.getInt64((uint64_t(1) << t.width) - 1));
            break;
        case EV::Bool:
            u = B.CreateZExt(v.v, i64);
            break;
        case EV::Bytes:
            ptr = v.v;
            len = B.CreateTrunc(v.len, i32);
            break;
        case EV::Addr:
            ptr = v.v;
            len = B.getInt32(v.addrLen);
            break;
        default:
            deadEnd(st);
            break;
        }
        // `type` and `len` are adjacent 32-bit fields: one 64-bit store.
        B.CreateStore(pairOf(B.getInt32(abiType(t)), len),
                      B.CreateBitCast(out, llvm::PointerType::getUnqual(i64)));
        B.CreateStore(u, B.CreateStructGEP(valueTy, out, 2));
        B.CreateStore(ptr, B.CreateStructGEP(valueTy, out, 3));
    }

    /// Values computed with functions (strings, digests, decryptions, sorted lists' counts)
    /// and used in getters get a function of their own, called once per getter that needs
    /// them: an expression that names one several times (a fingerprint) does not repeat its
    /// computation, nor its IR. The others are computed where they are used.
    static bool outlined(const ast::Let& l) {
        if (l.type.kind != ast::Type::Int && l.type.kind != ast::Type::Bool &&
            l.type.kind != ast::Type::Bytes && l.type.kind != ast::Type::String)
            return false;
        bool call = false, remaining = false;
        std::function<void(const Expr&)> visit = [&](const Expr& x) {
            if (x.kind == Expr::Kind::Call) call = true;
            if (x.kind == Expr::Kind::Name && x.ref.kind == ast::Ref::Builtin &&
                x.ref.builtin == "remaining")
                remaining = true;
            for (const auto& o : x.operands)
                if (o) visit(*o);
        };
        visit(*l.value);
        return call && !remaining;
    }

    /// The type a let's function returns its value as: integers unnarrowed, as computed.
    static ast::Type letValueType(const ast::Let& l) {
        return l.type.kind == ast::Type::Int ? ast::Type::integer(64) : l.type;
    }

    void defineLetFn(ast::Protocol& p, const ast::Let& l, Function* fn) {
        FnState st = begin(fn, p, FailMode::Silent);
        st.memoLets = true;
        walkProtocol(st, p, planFor(p, fieldsOf(p, {l.value.get()})));
        EV v = eval(st, *l.value);
        fillValue(st, fn->getArg(1), v, letValueType(l));
        B.CreateRet(B.getInt32(1));
        B.SetInsertPoint(st.failBB);
        B.CreateRet(B.getInt32(0));
    }

    /// A let's value through its function, called at the first use that runs.
    EV memoLet(FnState& st, const ast::Let& l) {
        Function* fn = fns[st.proto].letFns[&l];
        if (!fn) return eval(st, *l.value);
        auto it = st.letMemo.find(&l);
        if (it == st.letMemo.end()) {
            FnState::LetMemo m{entryAlloca(st, i1, "let.done"), entryAlloca(st, i32, "let.ok"),
                               entryAlloca(st, valueTy, "let.value")};
            llvm::IRBuilder<> eb(st.F->getEntryBlock().getTerminator());
            eb.CreateStore(llvm::ConstantInt::getFalse(C), m.done);
            it = st.letMemo.emplace(&l, m).first;
        }
        const FnState::LetMemo& m = it->second;
        BasicBlock* call = BasicBlock::Create(C, "let.call", st.F);
        BasicBlock* got = BasicBlock::Create(C, "let.got", st.F);
        B.CreateCondBr(B.CreateLoad(i1, m.done), got, call);
        B.SetInsertPoint(call);
        B.CreateStore(B.CreateCall(fn, {st.ctx, m.value}), m.ok);
        B.CreateStore(llvm::ConstantInt::getTrue(C), m.done);
        B.CreateBr(got);
        B.SetInsertPoint(got);
        evalFailIf(st, B.CreateICmpEQ(B.CreateLoad(i32, m.ok), B.getInt32(0)));
        return fromValue(m.value, letValueType(l));
    }

    void defineGetter(ast::Protocol& p, const ast::Attribute& a, Function* fn) {
        FnState st = begin(fn, p, FailMode::Silent);
        st.memoLets = true;
        walkProtocol(st, p, planFor(p, fieldsOf(p, {a.value.get(), a.cond.get()})));
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
        Value* lenPtr = B.CreateStructGEP(keyTy, key, side);
        Value* cur = B.CreateZExt(B.CreateLoad(i16, lenPtr), i64);
        unsigned n = 0;
        Value* src = nullptr;
        switch (v.k) {
        case EV::Int: {
            n = t.isInt() ? (t.width + 7) / 8 : 8;
            llvm::AllocaInst* tmp = entryAlloca(st, i64, "keypart");
            B.CreateStore(
                B.CreateCall(llvm::Intrinsic::getDeclaration(&M, llvm::Intrinsic::bswap, {i64}),
                             {v.v}),
                tmp);
            src = B.CreateInBoundsGEP(i8, B.CreateBitCast(tmp, i8p), B.getInt64(8 - n));
            break;
        }
        case EV::Bool: {
            n = 1;
            llvm::AllocaInst* tmp = entryAlloca(st, i8, "keypart");
            B.CreateStore(B.CreateZExt(v.v, i8), tmp);
            src = tmp;
            break;
        }
        case EV::Addr:
            n = v.addrLen;
            src = v.v;
            break;
        default:
            deadEnd(st);
            return;
        }
        Value* fits =
            B.CreateICmpULE(B.CreateAdd(cur, B.getInt64(n)), B.getInt64(MMT_KEY_SIDE_MAX));
        BasicBlock* ok = BasicBlock::Create(C, "key.fits", st.F);
        BasicBlock* over = BasicBlock::Create(C, "key.overflow", st.F);
        BasicBlock* done = BasicBlock::Create(C, "key.part", st.F);
        B.CreateCondBr(fits, ok, over);
        B.SetInsertPoint(over);
        B.CreateStore(B.getInt16(1), B.CreateStructGEP(keyTy, key, 3));
        B.CreateBr(done);
        B.SetInsertPoint(ok);
        Value* dst = B.CreateInBoundsGEP(
            i8, B.CreateBitCast(B.CreateStructGEP(keyTy, key, 4 + side), i8p), cur);
        B.CreateMemCpy(dst, llvm::MaybeAlign(1), src, llvm::MaybeAlign(1), n);
        B.CreateStore(B.CreateTrunc(B.CreateAdd(cur, B.getInt64(n)), i16), lenPtr);
        B.CreateBr(done);
        B.SetInsertPoint(done);
    }

    void defineKey(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.key, p, FailMode::Silent);
        Value* key = f.key->getArg(1);
        const ast::KeyParts* k = keyOf(p);
        std::set<const Field*> need;
        if (k) {
            for (const auto& e : k->a)
                for (auto* x : fieldsOf(p, {e.get()})) need.insert(x);
            for (const auto& e : k->b)
                for (auto* x : fieldsOf(p, {e.get()})) need.insert(x);
        }
        walkProtocol(st, p, planFor(p, need));
        // Every part is evaluated before anything is appended: a key that cannot be read
        // leaves the key untouched.
        std::vector<std::pair<EV, const ast::Type*>> a, b;
        if (k) {
            for (const auto& e : k->a) a.push_back({eval(st, *e), &e->type});
            for (const auto& e : k->b) b.push_back({eval(st, *e), &e->type});
        }
        // The protocol id first: an IPv4 flow and an IPv6 flow never share a key.
        appendKey(st, key, 0, intEV(B.getInt64(*p.id)), ast::Type::integer(16));
        for (auto& [v, t] : a) appendKey(st, key, k->bidirectional ? 1 : 0, v, *t);
        for (auto& [v, t] : b) appendKey(st, key, 2, v, *t);
        B.CreateRet(B.getInt32(1));
        B.SetInsertPoint(st.failBB);
        B.CreateRet(B.getInt32(0));
    }

    void defineSides(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.sides, p, FailMode::Silent);
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

    /// Rule lists (classify, update): the header is walked once for all rules; a rule
    /// that needs body fields walks the body itself, so that a broken body only stops the
    /// rules that read it. `each(i)` emits rule i with failures going to the next rule.
    void walkForRules(FnState& st, const ast::Protocol& p,
                      const std::vector<std::set<const Field*>>& needs,
                      const std::function<void(size_t)>& each,
                      const std::function<Value*(size_t)>& guard = nullptr) {
        std::set<const Field*> all;
        bool body = false;
        for (const auto& n : needs)
            for (const Field* f : n) {
                all.insert(f);
                if (itemOf(p, f).first == 1) body = true;
            }
        WalkPlan shared = planFor(p, all);
        shared.bodyItems = 0;
        Value* headerEnd = walkProtocol(st, p, shared, /*wholeLast=*/body);
        for (size_t i = 0; i < needs.size(); ++i) {
            BasicBlock* next = BasicBlock::Create(C, "rule.next", st.F);
            if (Value* ok = guard ? guard(i) : nullptr) {
                BasicBlock* go = BasicBlock::Create(C, "rule.may", st.F);
                B.CreateCondBr(ok, go, next);
                B.SetInsertPoint(go);
            }
            {
                Redirect r(st, next);
                WalkPlan own = planFor(p, needs[i]);
                bool pushed = false;
                if (own.bodyItems) {
                    Scope& scope = pushScope(st);
                    pushed = true;
                    const Field* lazy = lazyItem(st, p.body->items, own.bodyItems, own.need);
                    walkItems(st, p.body->items, own.bodyItems, headerEnd, Region{st.len, false},
                              scope, lazy);
                }
                each(i);
                if (pushed) st.scopes.pop_back();
            }
            if (B.GetInsertBlock()->getTerminator() == nullptr) B.CreateBr(next);
            B.SetInsertPoint(next);
        }
    }

    /// The first payload bytes for which a rule's condition can hold: 0-255, and 256 for
    /// an empty payload. What the analysis cannot tell leaves every byte possible, so a
    /// rule skipped by this test is one that could not have matched.
    using FirstBytes = std::bitset<257>;

    static FirstBytes firstBytesOf(const Expr& e) {
        FirstBytes all;
        all.set();
        auto isPayload = [](const Expr& x) {
            return x.kind == Expr::Kind::Name && x.ref.kind == ast::Ref::Payload;
        };
        // The integer `x` reads from the payload's start, and how far its first byte lies
        // to the left of bit 0: payload[0] (0), u16/u24/u32/u64(payload, 0) (8-56),
        // u16le/u32le/u64le(payload, 0) (0, with a mask).
        auto firstOf = [&](const Expr& x, unsigned& shift, bool& low) {
            low = false;
            if (x.kind == Expr::Kind::Index && x.operands.size() == 2 &&
                isPayload(*x.operands[0]) && x.operands[1]->kind == Expr::Kind::Int &&
                x.operands[1]->intValue == 0) {
                shift = 0;
                return true;
            }
            if (x.kind != Expr::Kind::Call || x.operands.size() != 2 ||
                !isPayload(*x.operands[0]) || x.operands[1]->kind != Expr::Kind::Int ||
                x.operands[1]->intValue != 0)
                return false;
            static const std::map<std::string, std::pair<unsigned, bool>> reads = {
                {"u8", {0, false}},   {"u16", {8, false}},  {"u24", {16, false}},
                {"u32", {24, false}}, {"u64", {56, false}}, {"u16le", {0, true}},
                {"u32le", {0, true}}, {"u64le", {0, true}}};
            auto it = reads.find(x.text);
            if (it == reads.end()) return false;
            shift = it->second.first;
            low = it->second.second;
            return true;
        };
        auto addRange = [](FirstBytes& out, uint64_t lo, uint64_t hi, unsigned shift, bool low) {
            if (low) {
                if (hi - lo >= 255) return false;
                for (uint64_t v = lo; v <= hi; ++v) out.set(size_t(v & 0xff));
                return true;
            }
            uint64_t a = lo >> shift, b = hi >> shift;
            if (a > 255) return true; // no first byte can make the value
            for (uint64_t v = a; v <= std::min<uint64_t>(b, 255); ++v) out.set(size_t(v));
            return true;
        };
        unsigned shift = 0;
        bool low = false;
        switch (e.kind) {
        case Expr::Kind::Binary: {
            const Expr& a = *e.operands[0];
            const Expr& b = *e.operands[1];
            if (e.text == "and") return firstBytesOf(a) & firstBytesOf(b);
            if (e.text == "or") return firstBytesOf(a) | firstBytesOf(b);
            if (e.text == "==") {
                const Expr* read = firstOf(a, shift, low)   ? &a
                                   : firstOf(b, shift, low) ? &b
                                                            : nullptr;
                const Expr* k = read == &a ? &b : &a;
                if (!read || k->kind != Expr::Kind::Int) return all;
                FirstBytes out;
                if (!addRange(out, k->intValue, k->intValue, shift, low)) return all;
                return out;
            }
            return all;
        }
        case Expr::Kind::In: {
            if (!firstOf(*e.operands[0], shift, low)) return all;
            FirstBytes out;
            for (const auto& c : e.cases)
                if (!addRange(out, c.lo, c.hi, shift, low)) return all;
            return out;
        }
        case Expr::Kind::Call: {
            bool ci = e.text == "istarts_with";
            if ((e.text != "starts_with" && !ci) || e.operands.size() < 2 ||
                !isPayload(*e.operands[0]))
                return all;
            FirstBytes out;
            for (size_t i = 1; i < e.operands.size(); ++i) {
                const std::string& lit = e.operands[i]->text;
                if (e.operands[i]->kind != Expr::Kind::String || lit.empty()) return all;
                auto c = static_cast<unsigned char>(lit[0]);
                out.set(c);
                if (ci) {
                    out.set(static_cast<unsigned char>(std::tolower(c)));
                    out.set(static_cast<unsigned char>(std::toupper(c)));
                }
            }
            return out;
        }
        default:
            return all;
        }
    }

    /// `first` (0-256) is in `set`: one comparison, or a bit of a constant table.
    Value* inByteSet(Value* first, const FirstBytes& set) {
        if (set.count() == 1)
            for (size_t v = 0; v < set.size(); ++v)
                if (set.test(v)) return B.CreateICmpEQ(first, B.getInt64(v));
        std::vector<uint64_t> words(5, 0);
        for (size_t v = 0; v < set.size(); ++v)
            if (set.test(v)) words[v / 64] |= uint64_t(1) << (v % 64);
        auto* arrTy = llvm::ArrayType::get(i64, words.size());
        auto* gv = new llvm::GlobalVariable(M, arrTy, true, llvm::GlobalValue::PrivateLinkage,
                                            llvm::ConstantDataArray::get(C, words), "first.bytes");
        gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
        Value* word = B.CreateLoad(
            i64,
            B.CreateInBoundsGEP(arrTy, gv, {B.getInt64(0), B.CreateLShr(first, B.getInt64(6))}));
        Value* bit =
            B.CreateAnd(B.CreateLShr(word, B.CreateAnd(first, B.getInt64(63))), B.getInt64(1));
        return B.CreateICmpNE(bit, B.getInt64(0));
    }

    void defineClassify(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.classify, p, FailMode::Silent);
        Value* res = f.classify->getArg(1);
        Value* out = f.classify->getArg(2);
        std::vector<Rule>& list = rules[&p];
        lengthsFromResult(st, res);
        std::vector<std::set<const Field*>> needs;
        for (const Rule& r : list) {
            std::set<const Field*> n = fieldsOf(p, {r.when, r.value});
            if (r.byPort && p.ports)
                for (auto* x : fieldsOf(p, {p.ports->src.get(), p.ports->dst.get()})) n.insert(x);
            needs.push_back(std::move(n));
        }
        // Dispatch on the payload's first byte: a rule whose condition needs a first byte
        // other than this one is not evaluated (256 stands for an empty payload).
        Value* first = nullptr;
        std::vector<FirstBytes> sets;
        for (const Rule& r : list)
            sets.push_back(r.when ? firstBytesOf(*r.when) : FirstBytes{}.set());
        if (std::any_of(sets.begin(), sets.end(), [](const FirstBytes& b) { return !b.all(); })) {
            Value* has = B.CreateICmpUGT(st.payloadLen, B.getInt64(0));
            Value* at = B.CreateSelect(has, ptrAt(st, st.headerLen), stringConst(""));
            first = B.CreateSelect(has, B.CreateZExt(B.CreateLoad(i8, at), i64), B.getInt64(256));
        }
        auto guard = [&](size_t i) -> Value* {
            return first && !sets[i].all() ? inByteSet(first, sets[i]) : nullptr;
        };
        BasicBlock* matched = BasicBlock::Create(C, "matched", st.F);
        std::vector<std::pair<BasicBlock*, const Rule*>> hits;
        // A rule that cannot be evaluated does not match; the next one is tried.
        walkForRules(
            st, p, needs,
            [&](size_t i) {
                const Rule& r = list[i];
                BasicBlock* hit = BasicBlock::Create(C, "rule.hit", st.F);
                if (r.byPort) {
                    Value* src = evalInt(st, *p.ports->src);
                    Value* dst = evalInt(st, *p.ports->dst);
                    BasicBlock* tryDst = BasicBlock::Create(C, "rule.dst", st.F);
                    branchCases(src, *r.cases, hit, tryDst);
                    B.SetInsertPoint(tryDst);
                    branchCases(dst, *r.cases, hit, st.failBB);
                } else if (r.value) {
                    branchCases(evalInt(st, *r.value), *r.cases, hit, st.failBB);
                } else {
                    B.CreateCondBr(evalBool(st, *r.when), hit, st.failBB);
                }
                B.SetInsertPoint(hit);
                B.CreateBr(matched);
                hits.push_back({hit, &r});
            },
            guard);
        B.CreateRet(B.getInt32(0));
        // One exit for every rule that matches: the answer is a pair of constants, which
        // the optimizer turns into a table when the rules test one value.
        if (!hits.empty()) {
            B.SetInsertPoint(matched);
            llvm::PHINode* id = B.CreatePHI(i32, unsigned(hits.size()), "next.id");
            llvm::PHINode* weight = B.CreatePHI(i32, unsigned(hits.size()), "next.weight");
            llvm::PHINode* flags = B.CreatePHI(i32, unsigned(hits.size()), "next.flags");
            for (auto& [bb, r] : hits) {
                id->addIncoming(B.getInt32(uint32_t(*r->target->id)), bb);
                weight->addIncoming(B.getInt32(uint32_t(r->weight)), bb);
                flags->addIncoming(B.getInt32(r->quoted ? MMT_CLASS_QUOTED : 0), bb);
            }
            B.CreateStore(id, B.CreateStructGEP(classTy, out, 0));
            B.CreateStore(weight, B.CreateStructGEP(classTy, out, 1));
            B.CreateStore(flags, B.CreateStructGEP(classTy, out, 2));
            B.CreateRet(B.getInt32(1));
        } else {
            matched->eraseFromParent();
        }
        // A header that cannot be walked classifies nothing.
        B.SetInsertPoint(st.failBB);
        B.CreateRet(B.getInt32(0));
    }

    void definePdu(ast::Protocol& p, ProtoFns& f) {
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
    void definePduBody(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.pdu, p, FailMode::Status);
        const std::string& term = *p.pduUntil;
        Value* tlen = B.getInt64(int64_t(term.size()));
        Value* idx = B.CreateCall(hFind, {st.data, st.len, stringConst(term), tlen});
        BasicBlock* found = BasicBlock::Create(C, "head", st.F);
        BasicBlock* more = BasicBlock::Create(C, "need.more", st.F);
        B.CreateCondBr(B.CreateICmpSLT(idx, B.getInt64(0)), more, found);
        B.SetInsertPoint(more);
        B.CreateRet(B.getInt64(0));
        B.SetInsertPoint(found);
        Value* head = B.CreateAdd(idx, tlen);
        llvm::AllocaInst* headA = entryAlloca(st, i64, "head.len");
        B.CreateStore(head, headA);
        st.headerLen = head;
        st.payloadLen = B.CreateSub(st.len, head);
        walkProtocol(st, p, planFor(p, fieldsOf(p, {p.pduBody->value.get()})));
        Value* body = evalInt(st, *p.pduBody->value);
        BasicBlock* wait = BasicBlock::Create(C, "body.more", st.F);
        BasicBlock* whole = BasicBlock::Create(C, "body.known", st.F);
        B.CreateCondBr(B.CreateICmpSLT(body, B.getInt64(0)), wait, whole);
        B.SetInsertPoint(wait);
        B.CreateRet(B.getInt64(0));
        B.SetInsertPoint(whole);
        B.CreateRet(B.CreateAdd(head, body));
        for (BasicBlock* bb : {st.failTrunc, st.failBB}) {
            B.SetInsertPoint(bb);
            B.CreateRet(B.CreateLoad(i64, headA));
        }
    }

    Value* stateBase(FnState& st) { return B.CreateLoad(i8p, B.CreateStructGEP(ctxTy, st.ctx, 9)); }
    Value* statePtr(FnState& st, Value* base, const ast::StateVar* v) {
        return B.CreateInBoundsGEP(i8, base, B.getInt64(fns[st.proto].stateOffset[v]));
    }

    void storeState(FnState& st, Value* ptr, const EV& v, const ast::Type& t) {
        Value* p64 = B.CreateBitCast(ptr, llvm::PointerType::getUnqual(i64));
        switch (v.k) {
        case EV::Int: {
            Value* x = v.v;
            if (t.isInt() && t.width < 64)
                x = B.CreateAnd(x, B.getInt64((uint64_t(1) << t.width) - 1));
            B.CreateAlignedStore(x, p64, llvm::MaybeAlign(1));
            break;
        }
        case EV::Bool:
            B.CreateAlignedStore(B.CreateZExt(v.v, i64), p64, llvm::MaybeAlign(1));
            break;
        case EV::Addr:
            B.CreateMemCpy(ptr, llvm::MaybeAlign(1), v.v, llvm::MaybeAlign(1), v.addrLen);
            break;
        default:
            break;
        }
    }

    void defineUpdate(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.update, p, FailMode::Silent);
        Value* state = stateBase(st);
        BasicBlock* has = BasicBlock::Create(C, "has.state", st.F);
        B.CreateCondBr(B.CreateIsNull(state), st.failBB, has);
        B.SetInsertPoint(has);
        std::vector<std::set<const Field*>> needs;
        for (const auto& u : p.updates) needs.push_back(fieldsOf(p, {u.value.get(), u.cond.get()}));
        // Updates run in order; each sees the state the previous ones left.
        walkForRules(st, p, needs, [&](size_t i) {
            const ast::Update& u = p.updates[i];
            if (!u.target) return;
            if (u.cond) {
                Value* c = evalBool(st, *u.cond);
                BasicBlock* yes = BasicBlock::Create(C, "update.do", st.F);
                B.CreateCondBr(c, yes, st.failBB);
                B.SetInsertPoint(yes);
            }
            EV v = eval(st, *u.value);
            storeState(st, statePtr(st, state, u.target), v, u.target->type);
        });
        B.CreateRetVoid();
        B.SetInsertPoint(st.failBB);
        B.CreateRetVoid();
    }

    void defineInit(ast::Protocol& p, ProtoFns& f) {
        Function* F = f.init;
        B.SetInsertPoint(BasicBlock::Create(C, "entry", F));
        Value* base = F->getArg(0);
        for (const auto& v : p.state) {
            Value* ptr = B.CreateInBoundsGEP(i8, base, B.getInt64(f.stateOffset[v.get()]));
            uint64_t init = 0;
            if (v->init)
                init = v->init->kind == Expr::Kind::Bool ? (v->init->boolValue ? 1 : 0)
                                                         : v->init->intValue;
            if (v->type.isInt() && v->type.width < 64) init &= (uint64_t(1) << v->type.width) - 1;
            if (v->type.kind == ast::Type::Ipv6 || v->type.kind == ast::Type::Ipv4 ||
                v->type.kind == ast::Type::Mac)
                B.CreateMemSet(ptr, B.getInt8(0), stateBytes(v->type), llvm::MaybeAlign(1));
            else
                B.CreateAlignedStore(B.getInt64(init),
                                     B.CreateBitCast(ptr, llvm::PointerType::getUnqual(i64)),
                                     llvm::MaybeAlign(1));
        }
        B.CreateRetVoid();
    }

    /// Walks `p` as far as the fields the values of block `b` read.
    void walkForBlock(FnState& st, ast::Protocol& p, const ast::Block& b) {
        std::set<const Field*> need;
        for (const auto& e : b.entries)
            for (auto* x : fieldsOf(p, {e.value.get()})) need.insert(x);
        walkProtocol(st, p, planFor(p, need));
    }

    void defineStream(ast::Protocol& p, ProtoFns& f) {
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
        B.CreateStore(B.CreateTrunc(seq, i32), B.CreateStructGEP(streamTy, out, 0));
        B.CreateStore(flags, B.CreateStructGEP(streamTy, out, 1));
        B.CreateRet(B.getInt32(1));
        B.SetInsertPoint(st.failBB);
        B.CreateRet(B.getInt32(0));
    }

    void defineFragment(ast::Protocol& p, ProtoFns& f) {
        FnState st = begin(f.fragment, p, FailMode::Silent);
        Value* out = f.fragment->getArg(1);
        const ast::Block& b = *p.fragment;
        walkForBlock(st, p, b);
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
    Value* evalInt(FnState& st, const Expr& e) {
        EV v = eval(st, e);
        if (v.k == EV::Int) return v.v;
        if (v.k == EV::Bool) return B.CreateZExt(v.v, i64);
        deadEnd(st);
        return B.getInt64(0);
    }
    Value* evalBool(FnState& st, const Expr& e) {
        EV v = eval(st, e);
        if (v.k == EV::Bool) return v.v;
        if (v.k == EV::Int) return B.CreateICmpNE(v.v, B.getInt64(0));
        deadEnd(st);
        return llvm::ConstantInt::getFalse(C);
    }

    Value* stringConst(const std::string& s) {
        auto it = strings.find(s);
        if (it != strings.end()) return it->second;
        llvm::Constant* data = llvm::ConstantDataArray::getString(C, s, /*AddNull=*/true);
        auto* gv = new llvm::GlobalVariable(M, data->getType(), true,
                                            llvm::GlobalValue::PrivateLinkage, data, "str");
        gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
        gv->setAlignment(llvm::MaybeAlign(1));
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

    static ast::Type addrType(ast::TypeSpec::Kind k) {
        return ast::Type::of(k == ast::TypeSpec::Mac    ? ast::Type::Mac
                             : k == ast::TypeSpec::Ipv4 ? ast::Type::Ipv4
                                                        : ast::Type::Ipv6);
    }

    /// The value of a parsed field; fails when it is absent. Integers are read here, from
    /// the packet, at most once per basic block.
    EV fieldValue(FnState& st, const Field& f, const Slot& cs) {
        Slot& s = const_cast<Slot&>(cs);
        if (s.mem) evalFailIf(st, B.CreateNot(B.CreateLoad(i1, s.present)));
        Value* off = slotGet(s, &Slot::off);
        EV v;
        if (f.isList) {
            v.k = EV::ListRef;
            v.list = &f;
            v.off = off;
            v.region = slotGet(s, &Slot::region);
            v.sized = s.sized;
            v.count = slotGet(s, &Slot::count);
            return v;
        }
        switch (f.type.kind) {
        case ast::TypeSpec::Int:
        case ast::TypeSpec::Varint:
            if (!s.mem && s.memo && (!s.memoBB || s.memoBB == B.GetInsertBlock()))
                return intEV(s.memo);
            v = intEV(readField(st, f, off));
            if (!s.mem) {
                s.memo = v.v;
                s.memoBB = B.GetInsertBlock();
            }
            return v;
        case ast::TypeSpec::Mac:
        case ast::TypeSpec::Ipv4:
        case ast::TypeSpec::Ipv6:
            v.k = EV::Addr;
            v.v = ptrAt(st, off);
            v.addrLen = scalarBytes(f);
            return v;
        case ast::TypeSpec::Bytes:
            return bytesEV(ptrAt(st, off), B.CreateSub(slotGet(s, &Slot::end), off));
        case ast::TypeSpec::Record:
            v.k = EV::RecordRef;
            v.rec = f.type.record;
            v.off = off;
            v.region = slotGet(s, &Slot::region);
            v.sized = s.sized;
            return v;
        case ast::TypeSpec::Unknown:
            break;
        }
        deadEnd(st);
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
    EV addrEV(Value* p, unsigned n) {
        EV r;
        r.k = EV::Addr;
        r.v = p;
        r.addrLen = n;
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
        walkItems(st, rec.rec->items, limit, rec.off, Region{rec.region, rec.sized}, scope, member);
        auto s = scope.find(member);
        EV v;
        if (s != scope.end())
            v = fieldValue(st, *member, s->second);
        else
            deadEnd(st);
        st.scopes.pop_back();
        return v;
    }

    /// The element of list `f` at [off, end) as a value.
    EV elementAt(FnState& st, const Field& f, Value* off, Value* end, bool sized) {
        if (f.type.kind == ast::TypeSpec::Record) {
            EV e;
            e.k = EV::RecordRef;
            e.rec = f.type.record;
            e.off = off;
            e.region = end;
            e.sized = sized;
            return e;
        }
        if (f.type.kind == ast::TypeSpec::Int)
            return intEV(readIntAt(st.data, off, f.type.width / 8, orderOf(f, *st.proto)));
        return addrEV(ptrAt(st, off), scalarBytes(f));
    }

    using ElemFn = std::function<void(EV, Scope*, BasicBlock*)>;

    /// Runs `fn` for every element of a list or projection (flattening nested lists).
    /// `fn(elem, elemScope, cont)` must end its block by branching (to `cont` to go on).
    void forEachElement(FnState& st, const EV& seq, const ElemFn& fn) {
        if (seq.k == EV::Ints) {
            llvm::AllocaInst* idx = entryAlloca(st, i64, "ints.i");
            B.CreateStore(B.getInt64(0), idx);
            BasicBlock* head = BasicBlock::Create(C, "ints.head", st.F);
            BasicBlock* body = BasicBlock::Create(C, "ints.body", st.F);
            BasicBlock* cont = BasicBlock::Create(C, "ints.next", st.F);
            BasicBlock* exit = BasicBlock::Create(C, "ints.end", st.F);
            B.CreateBr(head);
            B.SetInsertPoint(head);
            Value* i = B.CreateLoad(i64, idx);
            B.CreateCondBr(B.CreateICmpSLT(i, seq.count), body, exit);
            B.SetInsertPoint(body);
            fn(intEV(intAt(seq, i)), nullptr, cont);
            B.SetInsertPoint(cont);
            B.CreateStore(B.CreateAdd(B.CreateLoad(i64, idx), B.getInt64(1)), idx);
            B.CreateBr(head);
            B.SetInsertPoint(exit);
            return;
        }
        if (seq.k != EV::ListRef && seq.k != EV::Projection) {
            deadEnd(st);
            return;
        }
        const Field& f = *seq.list;
        listLoop(st, f, seq.off, Region{seq.region, seq.sized}, seq.count,
                 [&](Value* elemOff, Value* elemEnd, Scope* elemScope) {
                     BasicBlock* cont = BasicBlock::Create(C, "elem.next", st.F);
                     EV elem = elementAt(st, f, elemOff, elemEnd, seq.sized);
                     if (seq.k == EV::ListRef || seq.steps.empty()) {
                         fn(elem, elemScope, cont);
                     } else {
                         // A member absent from this element skips the element.
                         Redirect r(st, cont);
                         applySteps(st, elem, elemScope, seq.steps, 0, fn, cont);
                     }
                     B.SetInsertPoint(cont);
                 });
    }

    void applySteps(FnState& st, EV cur, Scope* curScope, const std::vector<const Field*>& steps,
                    size_t i, const ElemFn& fn, BasicBlock* cont) {
        const Field* step = steps[i];
        EV next;
        auto s = curScope ? curScope->find(step) : Scope::iterator{};
        if (curScope && s != curScope->end())
            next = fieldValue(st, *step, s->second);
        else
            next = recordMember(st, cur, step);
        bool last = i + 1 == steps.size();
        if (next.k == EV::ListRef) {
            // A list inside: walk its elements, then the remaining steps on each.
            forEachElement(st, next, [&](EV elem, Scope* es, BasicBlock* c2) {
                if (last) {
                    fn(elem, es, c2);
                } else {
                    // A member absent from this inner element skips that element only.
                    Redirect r(st, c2);
                    applySteps(st, elem, es, steps, i + 1, fn, c2);
                }
            });
            B.CreateBr(cont);
            return;
        }
        if (last) {
            fn(next, nullptr, cont);
            return;
        }
        applySteps(st, next, nullptr, steps, i + 1, fn, cont);
    }

    EV eval(FnState& st, const Expr& e) {
        using K = Expr::Kind;
        switch (e.kind) {
        case K::Int:
            return intEV(B.getInt64(e.intValue));
        case K::Bool:
            return boolEV(e.boolValue ? llvm::ConstantInt::getTrue(C)
                                      : llvm::ConstantInt::getFalse(C));
        case K::String:
            return bytesEV(stringConst(e.text), B.getInt64(int64_t(e.text.size())));
        case K::Name:
            return evalName(st, e);
        case K::Member:
            return evalMember(st, e);
        case K::Index:
            return evalIndex(st, e);
        case K::Call:
            return evalCall(st, e);
        case K::Unary: {
            Value* x = evalInt(st, *e.operands[0]);
            return intEV(e.text == "-" ? B.CreateNeg(x) : B.CreateNot(x));
        }
        case K::Not:
            return boolEV(B.CreateNot(evalBool(st, *e.operands[0])));
        case K::In:
            return boolEV(matchCases(st, evalInt(st, *e.operands[0]), e.cases));
        case K::Cond:
            return evalCond(st, e);
        case K::Binary:
            return evalBinary(st, e);
        }
        deadEnd(st);
        return intEV(B.getInt64(0));
    }

    EV bitOf(const EV& v, const Field& f, unsigned bit) {
        Value* b = B.CreateAnd(B.CreateLShr(v.v, f.type.width - 1 - bit), B.getInt64(1));
        return boolEV(B.CreateICmpNE(b, B.getInt64(0)));
    }

    EV evalName(FnState& st, const Expr& e) {
        switch (e.ref.kind) {
        case ast::Ref::Field:
        case ast::Ref::BitName: {
            const Slot* s = findSlot(st, e.ref.field);
            if (!s)
                throw std::logic_error("codegen: field '" + e.ref.field->name +
                                       "' used before it was walked");
            EV v = fieldValue(st, *e.ref.field, *s);
            return e.ref.kind == ast::Ref::BitName ? bitOf(v, *e.ref.field, e.ref.bit) : v;
        }
        case ast::Ref::Let:
            if (st.memoLets && outlined(*e.ref.let)) return memoLet(st, *e.ref.let);
            return eval(st, *e.ref.let->value);
        case ast::Ref::Attribute:
            return callGetter(st, getterOf(st.proto, e.ref.attribute), st.ctx,
                              e.ref.attribute->type);
        case ast::Ref::State: {
            Value* state = stateBase(st);
            evalFailIf(st, B.CreateIsNull(state));
            Value* p = statePtr(st, state, e.ref.state);
            const ast::Type& t = e.ref.state->type;
            if (t.kind == ast::Type::Bool || t.isInt()) {
                Value* x =
                    B.CreateAlignedLoad(i64, B.CreateBitCast(p, llvm::PointerType::getUnqual(i64)),
                                        llvm::MaybeAlign(1));
                return t.isInt() ? intEV(x) : boolEV(B.CreateICmpNE(x, B.getInt64(0)));
            }
            return addrEV(p, t.kind == ast::Type::Mac ? 6 : t.kind == ast::Type::Ipv4 ? 4 : 16);
        }
        case ast::Ref::Payload:
            ensureLengths(st);
            return bytesEV(ptrAt(st, st.headerLen), st.payloadLen);
        case ast::Ref::Builtin:
            if (e.ref.builtin == "direction")
                return intEV(
                    B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, 2)), i64));
            if (e.ref.builtin == "remaining") {
                // Bytes left in the region being parsed, from where the current item starts.
                if (!st.posEnd) break;
                return intEV(subOff(st.posEnd, st.posOff));
            }
            if (e.ref.builtin == "message") return bytesEV(st.data, st.len);
            return intEV(B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, 3)), i64));
        default:
            break;
        }
        deadEnd(st);
        return intEV(B.getInt64(0));
    }

    /// Calls a getter and turns its mmt_value back into a value; absent means failure.
    EV callGetter(FnState& st, Function* getter, Value* ctx, const ast::Type& t) {
        if (!getter) {
            deadEnd(st);
            return intEV(B.getInt64(0));
        }
        llvm::AllocaInst* tmp = entryAlloca(st, valueTy, "attr");
        Value* ok = B.CreateCall(getter, {ctx, tmp});
        evalFailIf(st, B.CreateICmpEQ(ok, B.getInt32(0)));
        return fromValue(tmp, t);
    }

    EV fromValue(Value* tmp, const ast::Type& t) {
        switch (t.kind) {
        case ast::Type::Int:
            return intEV(B.CreateLoad(i64, B.CreateStructGEP(valueTy, tmp, 2)));
        case ast::Type::Bool:
            return boolEV(B.CreateICmpNE(B.CreateLoad(i64, B.CreateStructGEP(valueTy, tmp, 2)),
                                         B.getInt64(0)));
        case ast::Type::Bytes:
        case ast::Type::String:
            return bytesEV(
                B.CreateLoad(i8p, B.CreateStructGEP(valueTy, tmp, 3)),
                B.CreateZExt(B.CreateLoad(i32, B.CreateStructGEP(valueTy, tmp, 1)), i64));
        default:
            return addrEV(B.CreateLoad(i8p, B.CreateStructGEP(valueTy, tmp, 3)),
                          t.kind == ast::Type::Mac    ? 6
                          : t.kind == ast::Type::Ipv4 ? 4
                                                      : 16);
        }
    }

    EV evalMember(FnState& st, const Expr& e) {
        if (e.ref.kind == ast::Ref::ProtoAttr) return evalParentAttr(st, e);
        EV b = eval(st, *e.operands[0]);
        const Field* member = e.ref.field;
        if (b.k == EV::RecordRef) {
            EV v = recordMember(st, b, member);
            return e.ref.kind == ast::Ref::BitName ? bitOf(v, *member, e.ref.bit) : v;
        }
        if (b.k == EV::ListRef || b.k == EV::Projection) {
            EV p = b;
            p.k = EV::Projection;
            p.steps.push_back(member);
            return p;
        }
        deadEnd(st);
        return intEV(B.getInt64(0));
    }

    EV evalParentAttr(FnState& st, const Expr& e) {
        auto pit = S->parents.find(st.proto);
        Value* parentId = B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, 4));
        Value* parentCtx = B.CreateLoad(ctxPtr, B.CreateStructGEP(ctxTy, st.ctx, 5));
        evalFailIf(st, B.CreateIsNull(parentCtx));
        llvm::AllocaInst* tmp = entryAlloca(st, valueTy, "parent.attr");
        BasicBlock* join = BasicBlock::Create(C, "parent.got", st.F);
        BasicBlock* none = BasicBlock::Create(C, "parent.none", st.F);
        llvm::SwitchInst* sw = B.CreateSwitch(parentId, none);
        if (pit != S->parents.end()) {
            for (const ast::Protocol* par : pit->second) {
                const ast::Attribute* attr = nullptr;
                for (const auto& a : par->attributes)
                    if (a->name == e.text) attr = a.get();
                Function* g = attr && !attr->isEvent ? getterOf(par, attr) : nullptr;
                if (!g) continue;
                BasicBlock* bb = BasicBlock::Create(C, "parent." + par->name, st.F);
                sw->addCase(B.getInt32(uint32_t(*par->id)), bb);
                B.SetInsertPoint(bb);
                Value* ok = B.CreateCall(g, {parentCtx, tmp});
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
        const Expr& ie = *e.operands[1];
        if (b.k == EV::ListRef && ie.kind == Expr::Kind::Int && ie.intValue == 0)
            return firstElement(st, b);
        Value* i = evalInt(st, ie);
        if (b.k == EV::Bytes) {
            evalFailIf(st, B.CreateICmpUGE(i, b.len)); // negative indexes are huge unsigned values
            return intEV(B.CreateZExt(B.CreateLoad(i8, B.CreateInBoundsGEP(i8, b.v, i)), i64));
        }
        if (b.k == EV::ListRef || b.k == EV::Projection) return nthElement(st, b, i, false);
        if (b.k == EV::Ints) {
            evalFailIf(st, B.CreateICmpUGE(i, b.count));
            return intEV(intAt(b, i));
        }
        deadEnd(st);
        return intEV(B.getInt64(0));
    }

    /// Element 0 of a list, found without walking it: the list's start, once the list
    /// is known not to be empty.
    EV firstElement(FnState& st, const EV& seq) {
        const Field& f = *seq.list;
        Value* off = seq.off;
        switch (f.extent) {
        case ast::Extent::Count:
            evalFailIf(st, B.CreateICmpSLE(seq.count, B.getInt64(0)));
            break;
        case ast::Extent::UntilString: {
            evalFailIf(st, B.CreateICmpUGE(off, seq.region));
            uint64_t tlen = f.terminator.size();
            Value* room = B.CreateICmpULE(addOff(off, B.getInt64(int64_t(tlen))), seq.region);
            Value* atTerm = guardedTest(st, room, "first.term", [&] {
                return B.CreateICmpEQ(
                    B.CreateCall(hMemcmp, {ptrAt(st, off), stringConst(f.terminator),
                                           B.getInt64(int64_t(tlen))}),
                    B.getInt32(0));
            });
            evalFailIf(st, atTerm);
            break;
        }
        default:
            evalFailIf(st, B.CreateICmpUGE(off, seq.region));
            break;
        }
        if (f.type.kind == ast::TypeSpec::Record)
            return elementAt(st, f, off, seq.region, seq.sized);
        unsigned bytes = scalarBytes(f);
        evalFailIf(st, B.CreateICmpUGT(addOff(off, B.getInt64(bytes)), seq.region));
        return elementAt(st, f, off, nullptr, seq.sized);
    }

    /// Somewhere to keep one element of a sequence past the loop that found it.
    struct ElemStore {
        llvm::AllocaInst *found, *off, *region, *val, *ptr, *len;
        bool sized = false;
    };
    ElemStore elemStore(FnState& st) {
        ElemStore s{entryAlloca(st, i1, "el.found"),   entryAlloca(st, i64, "el.off"),
                    entryAlloca(st, i64, "el.region"), entryAlloca(st, i64, "el.val"),
                    entryAlloca(st, i8p, "el.ptr"),    entryAlloca(st, i64, "el.len")};
        B.CreateStore(llvm::ConstantInt::getFalse(C), s.found);
        return s;
    }
    void keepElement(ElemStore& s, const EV& elem) {
        B.CreateStore(llvm::ConstantInt::getTrue(C), s.found);
        switch (elem.k) {
        case EV::RecordRef:
            s.sized = elem.sized;
            B.CreateStore(elem.off, s.off);
            B.CreateStore(elem.region, s.region);
            break;
        case EV::Int:
            B.CreateStore(elem.v, s.val);
            break;
        case EV::Bool:
            B.CreateStore(B.CreateZExt(elem.v, i64), s.val);
            break;
        case EV::Bytes:
            B.CreateStore(elem.v, s.ptr);
            B.CreateStore(elem.len, s.len);
            break;
        case EV::Addr:
            B.CreateStore(elem.v, s.ptr);
            break;
        default:
            break;
        }
    }
    EV keptElement(const ElemStore& s, const ast::Type& et) {
        EV r;
        switch (et.kind) {
        case ast::Type::Record:
            r.k = EV::RecordRef;
            r.rec = et.record;
            r.off = B.CreateLoad(i64, s.off);
            r.region = B.CreateLoad(i64, s.region);
            r.sized = s.sized;
            return r;
        case ast::Type::Int:
            return intEV(B.CreateLoad(i64, s.val));
        case ast::Type::Bool:
            return boolEV(B.CreateICmpNE(B.CreateLoad(i64, s.val), B.getInt64(0)));
        case ast::Type::Bytes:
        case ast::Type::String:
            return bytesEV(B.CreateLoad(i8p, s.ptr), B.CreateLoad(i64, s.len));
        default:
            return addrEV(B.CreateLoad(i8p, s.ptr), et.kind == ast::Type::Mac    ? 6
                                                    : et.kind == ast::Type::Ipv4 ? 4
                                                                                 : 16);
        }
    }

    /// Runs `fn` with the fields of a record element in scope: those the loop parsed, or,
    /// for the last step of a projection, the record walked now. A record that cannot be
    /// walked fails (to the current failure block).
    void inElementScope(FnState& st, const EV& elem, Scope* elemScope,
                        const std::function<void()>& fn) {
        if (elemScope) {
            st.scopes.push_back(elemScope);
            fn();
            st.scopes.pop_back();
            return;
        }
        if (elem.k != EV::RecordRef) {
            fn();
            return;
        }
        Scope& sc = pushScope(st);
        walkItems(st, elem.rec->items, SIZE_MAX, elem.off, Region{elem.region, elem.sized}, sc);
        fn();
        st.scopes.pop_back();
    }

    /// `find(seq, cond)`: the first element for which `cond` holds (no value when none
    /// does); `any(seq, cond)`: whether one does. A condition that cannot be evaluated is
    /// false; the search stops where the sequence cannot be walked further.
    EV search(FnState& st, const EV& seq, const Expr& cond, bool any) {
        ElemStore kept = elemStore(st);
        BasicBlock* done = BasicBlock::Create(C, "find.done", st.F);
        {
            Redirect r(st, done);
            forEachElement(st, seq, [&](EV elem, Scope* elemScope, BasicBlock* cont) {
                BasicBlock* take = BasicBlock::Create(C, "find.take", st.F);
                {
                    Redirect skip(st, cont);
                    inElementScope(st, elem, elemScope,
                                   [&] { B.CreateCondBr(evalBool(st, cond), take, cont); });
                }
                B.SetInsertPoint(take);
                keepElement(kept, elem);
                B.CreateBr(done);
            });
            B.CreateBr(done);
        }
        B.SetInsertPoint(done);
        Value* found = B.CreateLoad(i1, kept.found);
        if (any) return boolEV(found);
        evalFailIf(st, B.CreateNot(found));
        return keptElement(kept, elementTypeOf(seq));
    }

    static size_t memberLimit(const ast::Record& rec, const Field* member) {
        size_t limit = 0;
        for (size_t i = 0; i < rec.items.size(); ++i) {
            const auto& it = rec.items[i];
            if ((it.kind == ast::FieldItem::Kind::Field && it.field.get() == member) ||
                (it.kind == ast::FieldItem::Kind::Switch && containsSwitch(*it.sw, member)))
                limit = i + 1;
        }
        return limit;
    }

    /// `offset(field)`: where a field's bytes start, from the protocol's first byte.
    /// `size_of(field)` (`size`): how many bytes a variable-length integer took.
    EV fieldOffset(FnState& st, const Expr& a, bool size = false) {
        if (a.kind == Expr::Kind::Name && a.ref.kind == ast::Ref::Field) {
            const Slot* s = findSlot(st, a.ref.field);
            if (!s)
                throw std::logic_error("codegen: field '" + a.ref.field->name +
                                       "' used before it was walked");
            if (s->mem) evalFailIf(st, B.CreateNot(B.CreateLoad(i1, s->present)));
            Value* off = slotGet(*s, &Slot::off);
            if (size) return intEV(B.CreateSub(slotGet(*s, &Slot::end), off));
            return intEV(off);
        }
        if (a.kind == Expr::Kind::Member && a.ref.kind == ast::Ref::Field) {
            EV b = eval(st, *a.operands[0]);
            if (b.k == EV::RecordRef) {
                const Field* member = a.ref.field;
                Scope& scope = pushScope(st);
                walkItems(st, b.rec->items, memberLimit(*b.rec, member), b.off,
                          Region{b.region, b.sized}, scope, member);
                auto s = scope.find(member);
                EV v = intEV(B.getInt64(0));
                if (s == scope.end()) {
                    deadEnd(st);
                } else {
                    if (s->second.mem)
                        evalFailIf(st, B.CreateNot(B.CreateLoad(i1, s->second.present)));
                    v = intEV(slotGet(s->second, &Slot::off));
                    if (size) v = intEV(B.CreateSub(slotGet(s->second, &Slot::end), v.v));
                }
                st.scopes.pop_back();
                return v;
            }
        }
        deadEnd(st);
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
        bool sized = false;
        // Element i: a malformed element after it does not matter. The last element: a
        // list that cannot be walked to its end has none.
        BasicBlock* failTo = lastOne ? BasicBlock::Create(C, "nth.broken", st.F) : done;
        {
            Redirect r(st, failTo);
            forEachElement(st, seq, [&](EV elem, Scope*, BasicBlock* cont) {
                Value* k = B.CreateLoad(i64, idx);
                B.CreateStore(B.CreateAdd(k, B.getInt64(1)), idx);
                BasicBlock* take = BasicBlock::Create(C, "nth.take", st.F);
                Value* hit = lastOne ? static_cast<Value*>(llvm::ConstantInt::getTrue(C))
                                     : B.CreateICmpEQ(k, i);
                B.CreateCondBr(hit, take, cont);
                B.SetInsertPoint(take);
                B.CreateStore(llvm::ConstantInt::getTrue(C), found);
                switch (elem.k) {
                case EV::RecordRef:
                    sized = elem.sized;
                    B.CreateStore(elem.off, vOff);
                    B.CreateStore(elem.region, vRegion);
                    break;
                case EV::Int:
                    B.CreateStore(elem.v, vVal);
                    break;
                case EV::Bool:
                    B.CreateStore(B.CreateZExt(elem.v, i64), vVal);
                    break;
                case EV::Bytes:
                    B.CreateStore(elem.v, vPtr);
                    B.CreateStore(elem.len, vLen);
                    break;
                case EV::Addr:
                    B.CreateStore(elem.v, vPtr);
                    break;
                default:
                    break;
                }
                B.CreateBr(lastOne ? cont : done);
            });
            B.CreateBr(done);
        }
        if (lastOne) {
            B.SetInsertPoint(failTo);
            B.CreateStore(llvm::ConstantInt::getFalse(C), found);
            B.CreateBr(done);
        }
        B.SetInsertPoint(done);
        evalFailIf(st, B.CreateNot(B.CreateLoad(i1, found)));
        EV r;
        switch (et.kind) {
        case ast::Type::Record:
            r.k = EV::RecordRef;
            r.rec = et.record;
            r.off = B.CreateLoad(i64, vOff);
            r.region = B.CreateLoad(i64, vRegion);
            r.sized = sized;
            return r;
        case ast::Type::Int:
            return intEV(B.CreateLoad(i64, vVal));
        case ast::Type::Bool:
            return boolEV(B.CreateICmpNE(B.CreateLoad(i64, vVal), B.getInt64(0)));
        case ast::Type::Bytes:
        case ast::Type::String:
            return bytesEV(B.CreateLoad(i8p, vPtr), B.CreateLoad(i64, vLen));
        default:
            return addrEV(B.CreateLoad(i8p, vPtr), et.kind == ast::Type::Mac    ? 6
                                                   : et.kind == ast::Type::Ipv4 ? 4
                                                                                : 16);
        }
    }

    /// The element type of a list or projection value.
    static ast::Type elementTypeOf(const EV& seq) {
        if (seq.k == EV::Ints) return ast::Type::integer(seq.intWidth);
        const Field* f = seq.steps.empty() ? seq.list : seq.steps.back();
        switch (f->type.kind) {
        case ast::TypeSpec::Int:
        case ast::TypeSpec::Varint:
            return ast::Type::integer(f->type.width);
        case ast::TypeSpec::Mac:
        case ast::TypeSpec::Ipv4:
        case ast::TypeSpec::Ipv6:
            return addrType(f->type.kind);
        case ast::TypeSpec::Bytes:
            return ast::Type::of(ast::Type::Bytes);
        case ast::TypeSpec::Record: {
            ast::Type t = ast::Type::of(ast::Type::Record);
            t.record = f->type.record;
            return t;
        }
        default:
            return ast::Type{};
        }
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
        auto meet = [&](llvm::Type* ty, Value* x, Value* y) {
            llvm::PHINode* phi = B.CreatePHI(ty, 2);
            phi->addIncoming(x, aEnd);
            phi->addIncoming(y, bEnd);
            return phi;
        };
        auto branchBoth = [&](Value*& x, Value*& y, const std::function<Value*(const EV&)>& conv) {
            B.SetInsertPoint(aEnd);
            x = conv(a);
            B.CreateBr(join);
            B.SetInsertPoint(bEnd);
            y = conv(b);
            B.CreateBr(join);
            B.SetInsertPoint(join);
        };
        Value *x = nullptr, *y = nullptr;
        if (a.k == EV::Bool && b.k == EV::Bool) {
            branchBoth(x, y, [](const EV& v) { return v.v; });
            return boolEV(meet(i1, x, y));
        }
        if (a.k == EV::Bytes && b.k == EV::Bytes) {
            branchBoth(x, y, [](const EV& v) { return v.v; });
            llvm::PHINode* p = meet(i8p, x, y);
            return bytesEV(p, meet(i64, a.len, b.len));
        }
        if (a.k == EV::Addr && b.k == EV::Addr) {
            branchBoth(x, y, [](const EV& v) { return v.v; });
            return addrEV(meet(i8p, x, y), a.addrLen);
        }
        // Integers of either branch meet as i64.
        branchBoth(x, y, [&](const EV& v) { return asInt(v); });
        return intEV(meet(i64, x, y));
    }

    /// `guard and test()`, where `test` runs (and may read memory) only when `guard` holds.
    Value* guardedTest(FnState& st, Value* guard, const char* name,
                       const std::function<Value*()>& test) {
        BasicBlock* from = B.GetInsertBlock();
        BasicBlock* cmp = BasicBlock::Create(C, name, st.F);
        BasicBlock* join = BasicBlock::Create(C, std::string(name) + ".join", st.F);
        B.CreateCondBr(guard, cmp, join);
        B.SetInsertPoint(cmp);
        Value* result = test();
        BasicBlock* cmpEnd = B.GetInsertBlock();
        B.CreateBr(join);
        B.SetInsertPoint(join);
        llvm::PHINode* phi = B.CreatePHI(i1, 2);
        phi->addIncoming(llvm::ConstantInt::getFalse(C), from);
        phi->addIncoming(result, cmpEnd);
        return phi;
    }

    Value* bytesEqual(FnState& st, const EV& a, const EV& b) {
        return guardedTest(st, B.CreateICmpEQ(a.len, b.len), "eq.cmp", [&] {
            return B.CreateICmpEQ(B.CreateCall(hMemcmp, {a.v, b.v, a.len}), B.getInt32(0));
        });
    }

    EV evalBinary(FnState& st, const Expr& e) {
        const std::string& op = e.text;
        if (op == "and" || op == "or") {
            Value* a = evalBool(st, *e.operands[0]);
            BasicBlock* from = B.GetInsertBlock();
            BasicBlock* rhs = BasicBlock::Create(C, op + ".rhs", st.F);
            BasicBlock* join = BasicBlock::Create(C, op + ".join", st.F);
            if (op == "and")
                B.CreateCondBr(a, rhs, join);
            else
                B.CreateCondBr(a, join, rhs);
            B.SetInsertPoint(rhs);
            Value* b = evalBool(st, *e.operands[1]);
            BasicBlock* rhsEnd = B.GetInsertBlock();
            B.CreateBr(join);
            B.SetInsertPoint(join);
            llvm::PHINode* phi = B.CreatePHI(i1, 2);
            phi->addIncoming(
                op == "and" ? llvm::ConstantInt::getFalse(C) : llvm::ConstantInt::getTrue(C), from);
            phi->addIncoming(b, rhsEnd);
            return boolEV(phi);
        }
        EV a = eval(st, *e.operands[0]);
        EV b = eval(st, *e.operands[1]);
        if (op == "==" || op == "!=") {
            Value* eq;
            if (a.k == EV::Bytes && b.k == EV::Bytes)
                eq = bytesEqual(st, a, b);
            else if (a.k == EV::Addr && b.k == EV::Addr)
                eq = B.CreateICmpEQ(B.CreateCall(hMemcmp, {a.v, b.v, B.getInt64(a.addrLen)}),
                                    B.getInt32(0));
            else if (a.k == EV::Bool && b.k == EV::Bool)
                eq = B.CreateICmpEQ(a.v, b.v);
            else
                eq = B.CreateICmpEQ(asInt(a), asInt(b));
            return boolEV(op == "==" ? eq : B.CreateNot(eq));
        }
        Value* x = asInt(a);
        Value* y = asInt(b);
        // Integers are signed 64-bit; + - * wrap.
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
                                    B.CreateAnd(B.CreateICmpEQ(x, B.getInt64(INT64_MIN)),
                                                B.CreateICmpEQ(y, B.getInt64(-1))));
            evalFailIf(st, bad);
            return intEV(op == "/" ? B.CreateSDiv(x, y) : B.CreateSRem(x, y));
        }
        if (op == "<<" || op == ">>") {
            // Shifts by 64 or more (or by a negative amount) give 0, like a wide register.
            Value* inRange = B.CreateICmpULT(y, B.getInt64(64));
            Value* safeY = B.CreateSelect(inRange, y, B.getInt64(0));
            Value* r = op == "<<" ? B.CreateShl(x, safeY) : B.CreateLShr(x, safeY);
            return intEV(B.CreateSelect(inRange, r, B.getInt64(0)));
        }
        deadEnd(st);
        return intEV(B.getInt64(0));
    }

    Value* asInt(const EV& v) {
        if (v.k == EV::Int) return v.v;
        if (v.k == EV::Bool) return B.CreateZExt(v.v, i64);
        return B.getInt64(0);
    }

    EV asBytes(FnState& st, const EV& v) {
        if (v.k == EV::Bytes) return v;
        deadEnd(st);
        return bytesEV(llvm::ConstantPointerNull::get(i8p), B.getInt64(0));
    }

    /// `lit` at the start (or end) of `b`, case-sensitive or not.
    Value* hasAt(FnState& st, const EV& b, const std::string& lit, bool atEnd, bool icase) {
        Value* n = B.getInt64(int64_t(lit.size()));
        return guardedTest(st, B.CreateICmpUGE(b.len, n), "lit.cmp", [&]() -> Value* {
            Value* p = atEnd ? B.CreateInBoundsGEP(i8, b.v, B.CreateSub(b.len, n)) : b.v;
            return icase ? B.CreateICmpNE(B.CreateCall(hIcase, {p, stringConst(lit), n}),
                                          B.getInt32(0))
                         : B.CreateICmpEQ(B.CreateCall(hMemcmp, {p, stringConst(lit), n}),
                                          B.getInt32(0));
        });
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
        if ((f == "starts_with" || f == "istarts_with" || f == "ends_with" || f == "contains") &&
            args.size() > 3 && args.size() <= 256) {
            // Many literals (payload heuristics): one call over a table, not a comparison
            // each; the table is `count, (length, bytes)...`.
            EV b = asBytes(st, eval(st, *args[0]));
            std::string table(1, char(args.size() - 1));
            for (size_t i = 1; i < args.size(); ++i) {
                const std::string l = lit(i);
                table += char(std::min<size_t>(l.size(), 255));
                table += l.substr(0, 255);
            }
            uint32_t mode = f == "starts_with"    ? 0
                            : f == "istarts_with" ? 1
                            : f == "ends_with"    ? 2
                                                  : 3;
            Value* r = B.CreateCall(hMatchAny, {b.v, b.len, stringConst(table), B.getInt32(mode)});
            return boolEV(B.CreateICmpNE(r, B.getInt32(0)));
        }
        if (f == "starts_with" || f == "istarts_with" || f == "ends_with") {
            EV b = asBytes(st, eval(st, *args[0]));
            Value* any = nullptr;
            for (size_t i = 1; i < args.size(); ++i) {
                Value* m = hasAt(st, b, lit(i), f == "ends_with", f == "istarts_with");
                any = any ? B.CreateOr(any, m) : m;
            }
            return boolEV(any);
        }
        if (f == "contains") {
            EV b = asBytes(st, eval(st, *args[0]));
            Value* any = nullptr;
            for (size_t i = 1; i < args.size(); ++i) {
                Value* idx = B.CreateCall(
                    hFind, {b.v, b.len, stringConst(lit(i)), B.getInt64(int64_t(lit(i).size()))});
                Value* m = B.CreateICmpSGE(idx, B.getInt64(0));
                any = any ? B.CreateOr(any, m) : m;
            }
            return boolEV(any);
        }
        if (f == "iequals") {
            EV b = asBytes(st, eval(st, *args[0]));
            return boolEV(guardedTest(
                st, B.CreateICmpEQ(b.len, B.getInt64(int64_t(lit(1).size()))), "ieq.cmp", [&] {
                    return B.CreateICmpNE(B.CreateCall(hIcase, {b.v, stringConst(lit(1)), b.len}),
                                          B.getInt32(0));
                }));
        }
        if (f == "trim") {
            EV b = asBytes(st, eval(st, *args[0]));
            llvm::AllocaInst* start = entryAlloca(st, i64, "trim.start");
            Value* n = B.CreateCall(hTrim, {b.v, b.len, start});
            return bytesEV(B.CreateInBoundsGEP(i8, b.v, B.CreateLoad(i64, start)), n);
        }
        if (f == "split")
            return split(st, asBytes(st, eval(st, *args[0])), lit(1), args[2]->intValue);
        if (f == "slice") {
            // Out of range (or negative) start or length: no value.
            EV b = asBytes(st, eval(st, *args[0]));
            Value* start = evalInt(st, *args[1]);
            evalFailIf(st, B.CreateICmpUGT(start, b.len));
            Value* rest = B.CreateSub(b.len, start);
            Value* n = rest;
            if (args.size() == 3) {
                n = evalInt(st, *args[2]);
                evalFailIf(st, B.CreateICmpUGT(n, rest));
            }
            return bytesEV(B.CreateInBoundsGEP(i8, b.v, start), n);
        }
        if (f == "before" || f == "after") {
            EV b = asBytes(st, eval(st, *args[0]));
            const std::string sep = lit(1);
            Value* idx = B.CreateCall(
                hFind, {b.v, b.len, stringConst(sep), B.getInt64(int64_t(sep.size()))});
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
            unsigned bytes = unsigned(std::stoul(f.substr(1))) / 8;
            bool le = f.size() > 2 && f.substr(f.size() - 2) == "le";
            Value* bad = B.CreateOr(B.CreateICmpSLT(off, B.getInt64(0)),
                                    B.CreateICmpUGT(B.CreateAdd(off, B.getInt64(bytes)), b.len));
            evalFailIf(st, bad);
            return intEV(
                readIntAt(b.v, off, bytes, le ? ast::ByteOrder::Little : ast::ByteOrder::Big));
        }
        if (f == "ipv4" || f == "ipv6" || f == "mac") {
            EV b = asBytes(st, eval(st, *args[0]));
            Value* off = args.size() == 2 ? evalInt(st, *args[1]) : B.getInt64(0);
            unsigned n = f == "ipv4" ? 4 : f == "ipv6" ? 16 : 6;
            Value* bad = B.CreateOr(B.CreateICmpSLT(off, B.getInt64(0)),
                                    B.CreateICmpUGT(B.CreateAdd(off, B.getInt64(n)), b.len));
            evalFailIf(st, bad);
            return addrEV(B.CreateInBoundsGEP(i8, b.v, off), n);
        }
        if (f == "first" || f == "last") {
            EV seq = eval(st, *args[0]);
            if (f == "first" && seq.k == EV::ListRef) return firstElement(st, seq);
            return nthElement(st, seq, B.getInt64(0), f == "last");
        }
        if (f == "join" || f == "join_hex") {
            EV seq = eval(st, *args[0]);
            unsigned digits = f == "join" ? 0 : (elementTypeOf(seq).width + 7) / 8 * 2;
            return join(st, seq, lit(1), digits);
        }
        if (f == "sort" || f == "no_grease" || f == "without") {
            EV seq = eval(st, *args[0]);
            unsigned width = elementTypeOf(seq).width;
            EV r;
            if (f == "sort") {
                r = collectInts(st, seq, nullptr, width);
                B.CreateCall(hSortInts, {r.v, r.count});
                return r;
            }
            if (f == "no_grease")
                // RFC 8701: 0x0a0a, 0x1a1a ... 0xfafa, in cipher suites, extensions, groups
                // and versions.
                return collectInts(
                    st, seq,
                    [&](Value* x) {
                        Value* g = B.CreateICmpEQ(B.CreateAnd(x, B.getInt64(~int64_t(0xf0f0))),
                                                  B.getInt64(0x0a0a));
                        Value* same = B.CreateICmpEQ(B.CreateLShr(x, B.getInt64(8)),
                                                     B.CreateAnd(x, B.getInt64(0xff)));
                        return B.CreateNot(B.CreateAnd(g, same));
                    },
                    width);
            return collectInts(
                st, seq,
                [&](Value* x) {
                    Value* hit = llvm::ConstantInt::getFalse(C);
                    for (size_t i = 1; i < args.size(); ++i)
                        hit = B.CreateOr(hit,
                                         B.CreateICmpEQ(x, B.getInt64(int64_t(args[i]->intValue))));
                    return B.CreateNot(hit);
                },
                width);
        }
        if (f == "quic_initial") {
            EV packet = asBytes(st, eval(st, *args[0]));
            Value* pnOffset = evalInt(st, *args[1]);
            Value* version = evalInt(st, *args[2]);
            EV dcid = asBytes(st, eval(st, *args[3]));
            llvm::AllocaInst* out = entryAlloca(st, i8p, "quic.plain");
            Value* n = B.CreateCall(hQuicInitial, {st.ctx, packet.v, packet.len, pnOffset, version,
                                                   dcid.v, dcid.len, out});
            evalFailIf(st, B.CreateICmpSLT(n, B.getInt64(0)));
            return bytesEV(B.CreateLoad(i8p, out), n);
        }
        if (f == "parse") {
            // Bytes read as a record: offsets stay relative to this protocol's data, so the
            // record is walked like one of the packet's (the bytes are in scratch memory or
            // in the packet; they never straddle the packet's first byte).
            EV b = asBytes(st, eval(st, *args[0]));
            EV r;
            r.k = EV::RecordRef;
            r.rec = e.type.record;
            r.off = B.CreateSub(B.CreatePtrToInt(b.v, i64), B.CreatePtrToInt(st.data, i64));
            r.region = B.CreateAdd(r.off, b.len);
            r.sized = true;
            return r;
        }
        if (f == "assemble") return assemble(st, eval(st, *args[0]), *args[1], *args[2]);
        if (f == "md5" || f == "sha256" || f == "hex") {
            EV b = asBytes(st, eval(st, *args[0]));
            Value* mark = B.CreateCall(hMark, {st.ctx});
            evalFailIf(st, B.CreateIsNull(mark));
            Value* n =
                f == "hex"
                    ? B.CreateCall(hHex, {st.ctx, b.v, b.len})
                    : B.CreateCall(hDigest, {st.ctx, b.v, b.len, B.getInt32(f == "md5" ? 0 : 1)});
            evalFailIf(st, B.CreateICmpSLT(n, B.getInt64(0)));
            return bytesEV(mark, n);
        }
        if (f == "concat") {
            // Every piece first (a piece may itself be computed into scratch memory), then
            // their copies, one after the other.
            std::vector<EV> parts;
            for (const auto& a : args) parts.push_back(eval(st, *a));
            Value* mark = B.CreateCall(hMark, {st.ctx});
            evalFailIf(st, B.CreateIsNull(mark));
            for (const EV& p : parts) {
                Value* r = p.k == EV::Bytes
                               ? B.CreateCall(hAppend, {st.ctx, p.v, p.len})
                               : B.CreateCall(hAppendInt, {st.ctx, asInt(p), B.getInt32(0)});
                evalFailIf(st, B.CreateIsNull(r));
            }
            Value* end = B.CreateCall(hMark, {st.ctx});
            return bytesEV(mark,
                           B.CreateSub(B.CreatePtrToInt(end, i64), B.CreatePtrToInt(mark, i64)));
        }
        if (f == "find" || f == "any") return search(st, eval(st, *args[0]), *args[1], f == "any");
        if (f == "offset" || f == "size_of") return fieldOffset(st, *args[0], f == "size_of");
        if (f == "parent_is") {
            const ast::Protocol* which = S->findProtocol(args[0]->text);
            Value* parentId = B.CreateLoad(i32, B.CreateStructGEP(ctxTy, st.ctx, 4));
            return boolEV(
                B.CreateICmpEQ(parentId, B.getInt32(uint32_t(which ? which->id.value_or(0) : 0))));
        }
        if (f == "domain_name") {
            // A DNS name at an offset of a message, compression pointers followed, dotted,
            // into scratch memory.
            EV b = asBytes(st, eval(st, *args[0]));
            Value* at = evalInt(st, *args[1]);
            Value* mark = B.CreateCall(hMark, {st.ctx});
            evalFailIf(st, B.CreateIsNull(mark));
            Value* n = B.CreateCall(hDomainName, {st.ctx, b.v, b.len, at});
            evalFailIf(st, B.CreateICmpSLT(n, B.getInt64(0)));
            return bytesEV(mark, n);
        }
        if (f == "netbios_name") {
            EV b = asBytes(st, eval(st, *args[0]));
            Value* mark = B.CreateCall(hMark, {st.ctx});
            evalFailIf(st, B.CreateIsNull(mark));
            Value* n = B.CreateCall(hNetbiosName, {st.ctx, b.v, b.len});
            evalFailIf(st, B.CreateICmpSLT(n, B.getInt64(0)));
            return bytesEV(mark, n);
        }
        if (f == "chunked_length") {
            EV b = asBytes(st, eval(st, *args[0]));
            // -1: the body's end is not there yet (a value); below: not chunked (a failure).
            Value* n = B.CreateCall(hChunked, {b.v, b.len});
            evalFailIf(st, B.CreateICmpSLT(n, B.getInt64(-1)));
            return intEV(n);
        }
        if (f == "min" || f == "max") {
            Value* a = evalInt(st, *args[0]);
            Value* b = evalInt(st, *args[1]);
            Value* lt = B.CreateICmpSLT(a, b);
            return intEV(f == "min" ? B.CreateSelect(lt, a, b) : B.CreateSelect(lt, b, a));
        }
        deadEnd(st);
        return intEV(B.getInt64(0));
    }

    /// `assemble(seq, OFFSET, DATA)`: the DATA of every element at its OFFSET (both read in
    /// the element's scope; an element where either fails is left out), in scratch memory;
    /// the bytes from offset 0 up to the first gap. Fails when nothing starts at 0.
    EV assemble(FnState& st, const EV& seq, const Expr& offset, const Expr& data) {
        // At most 64 KiB: more than any handshake flight.
        const int64_t cap = 65536;
        llvm::AllocaInst* total = entryAlloca(st, i64, "asm.total");
        B.CreateStore(B.getInt64(0), total);
        auto each = [&](const std::function<void(Value*, const EV&)>& use) {
            BasicBlock* done = BasicBlock::Create(C, "asm.done", st.F);
            {
                Redirect r(st, done);
                forEachElement(st, seq, [&](EV elem, Scope* es, BasicBlock* cont) {
                    Redirect skip(st, cont);
                    inElementScope(st, elem, es, [&] {
                        Value* off = evalInt(st, offset);
                        EV d = asBytes(st, eval(st, data));
                        use(off, d);
                        B.CreateBr(cont);
                    });
                });
                B.CreateBr(done);
            }
            B.SetInsertPoint(done);
        };
        each([&](Value* off, const EV& d) {
            Value* end = B.CreateAdd(off, d.len);
            Value* ok = B.CreateAnd(B.CreateICmpSGE(off, B.getInt64(0)),
                                    B.CreateICmpSLE(end, B.getInt64(cap)));
            Value* cur = B.CreateLoad(i64, total);
            B.CreateStore(B.CreateSelect(B.CreateAnd(ok, B.CreateICmpSGT(end, cur)), end, cur),
                          total);
        });
        Value* n = B.CreateLoad(i64, total);
        evalFailIf(st, B.CreateICmpEQ(n, B.getInt64(0)));
        Value* buf = B.CreateCall(hAssembleInit, {st.ctx, n});
        evalFailIf(st, B.CreateIsNull(buf));
        each([&](Value* off, const EV& d) {
            B.CreateCall(hAssemblePut, {buf, n, off, d.v, d.len});
        });
        Value* got = B.CreateCall(hAssembleEnd, {buf, n});
        evalFailIf(st, B.CreateICmpEQ(got, B.getInt64(0)));
        return bytesEV(buf, got);
    }

    /// Element `i` of a computed list of integers.
    Value* intAt(const EV& ints, Value* i) {
        Value* p = B.CreateInBoundsGEP(i8, ints.v, B.CreateMul(i, B.getInt64(8)));
        return B.CreateAlignedLoad(i64, B.CreateBitCast(p, llvm::PointerType::getUnqual(i64)),
                                   llvm::MaybeAlign(1));
    }

    /// The integers of `seq` for which `keep` holds (all of them without it), copied one
    /// after the other into scratch memory.
    EV collectInts(FnState& st, const EV& seq, const std::function<Value*(Value*)>& keep,
                   unsigned width) {
        Value* mark = B.CreateCall(hMark, {st.ctx});
        evalFailIf(st, B.CreateIsNull(mark));
        llvm::AllocaInst* tmp = entryAlloca(st, i64, "ints.tmp");
        BasicBlock* full = BasicBlock::Create(C, "ints.full", st.F);
        forEachElement(st, seq, [&](EV elem, Scope*, BasicBlock* cont) {
            Value* x = asInt(elem);
            if (keep) {
                BasicBlock* add = BasicBlock::Create(C, "ints.add", st.F);
                B.CreateCondBr(keep(x), add, cont);
                B.SetInsertPoint(add);
            }
            B.CreateStore(x, tmp);
            Value* r = B.CreateCall(hAppend, {st.ctx, B.CreateBitCast(tmp, i8p), B.getInt64(8)});
            B.CreateCondBr(B.CreateIsNull(r), full, cont);
        });
        Value* end = B.CreateCall(hMark, {st.ctx});
        BasicBlock* done = B.GetInsertBlock();
        B.SetInsertPoint(full);
        evalFail(st);
        B.SetInsertPoint(done);
        EV r;
        r.k = EV::Ints;
        r.v = mark;
        r.count = B.CreateUDiv(B.CreateSub(B.CreatePtrToInt(end, i64), B.CreatePtrToInt(mark, i64)),
                               B.getInt64(8));
        r.intWidth = width;
        return r;
    }

    Value* countElements(FnState& st, const EV& seq) {
        if (seq.k == EV::Ints) return seq.count;
        llvm::AllocaInst* n = entryAlloca(st, i64, "count");
        B.CreateStore(B.getInt64(0), n);
        forEachElement(st, seq, [&](EV, Scope*, BasicBlock* cont) {
            B.CreateStore(B.CreateAdd(B.CreateLoad(i64, n), B.getInt64(1)), n);
            B.CreateBr(cont);
        });
        return B.CreateLoad(i64, n);
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
        return bytesEV(p, B.CreateSelect(B.CreateICmpSLT(idx, B.getInt64(0)), n, idx));
    }

    /// The elements of a list of bytes, joined by `sep` in the packet's scratch memory;
    /// integers in decimal, or in hex with `hexDigits` digits when it is not 0.
    EV join(FnState& st, const EV& seq, const std::string& sep, unsigned hexDigits = 0) {
        Value* mark = B.CreateCall(hMark, {st.ctx});
        evalFailIf(st, B.CreateIsNull(mark));
        llvm::AllocaInst* first = entryAlloca(st, i1, "join.first");
        B.CreateStore(llvm::ConstantInt::getTrue(C), first);
        BasicBlock* full = BasicBlock::Create(C, "join.full", st.F);
        forEachElement(st, seq, [&](EV elem, Scope*, BasicBlock* cont) {
            if (elem.k != EV::Bytes && elem.k != EV::Int) {
                B.CreateBr(cont);
                return;
            }
            BasicBlock* addSep = BasicBlock::Create(C, "join.sep", st.F);
            BasicBlock* addVal = BasicBlock::Create(C, "join.val", st.F);
            BasicBlock* added = BasicBlock::Create(C, "join.added", st.F);
            B.CreateCondBr(B.CreateLoad(i1, first), addVal, addSep);
            B.SetInsertPoint(addSep);
            Value* r1 =
                B.CreateCall(hAppend, {st.ctx, stringConst(sep), B.getInt64(int64_t(sep.size()))});
            B.CreateCondBr(B.CreateIsNull(r1), full, addVal);
            B.SetInsertPoint(addVal);
            Value* r2 = elem.k == EV::Bytes
                            ? B.CreateCall(hAppend, {st.ctx, elem.v, elem.len})
                            : B.CreateCall(hAppendInt, {st.ctx, elem.v, B.getInt32(hexDigits)});
            B.CreateCondBr(B.CreateIsNull(r2), full, added);
            B.SetInsertPoint(added);
            B.CreateStore(llvm::ConstantInt::getFalse(C), first);
            B.CreateBr(cont);
        });
        // The pieces are contiguous: the result runs from the mark to the new end.
        Value* end = B.CreateCall(hMark, {st.ctx});
        Value* total = B.CreateSub(B.CreatePtrToInt(end, i64), B.CreatePtrToInt(mark, i64));
        BasicBlock* done = B.GetInsertBlock();
        B.SetInsertPoint(full);
        evalFail(st);
        B.SetInsertPoint(done);
        return bytesEV(mark, total);
    }

    // ------------------------------------------------------------------ the library table
    llvm::Constant* asI8p(llvm::Constant* c) {
        return c ? llvm::ConstantExpr::getBitCast(c, i8p) : llvm::ConstantPointerNull::get(i8p);
    }
    llvm::Constant* cstr(const std::string& s) {
        return llvm::cast<llvm::Constant>(stringConst(s));
    }

    llvm::Constant* constArray(llvm::Type* elem, const std::vector<llvm::Constant*>& items,
                               const std::string& name) {
        if (items.empty())
            return llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(elem));
        auto* at = llvm::ArrayType::get(elem, items.size());
        auto* gv = new llvm::GlobalVariable(M, at, true, llvm::GlobalValue::PrivateLinkage,
                                            llvm::ConstantArray::get(at, items), name);
        return llvm::ConstantExpr::getInBoundsGetElementPtr(
            at, gv, llvm::ArrayRef<llvm::Constant*>{B.getInt64(0), B.getInt64(0)});
    }

    void emitLibrary(const std::vector<ast::Protocol*>& protos, const std::string& symbol) {
        std::vector<llvm::Constant*> entries;
        for (ast::Protocol* p : protos) {
            ProtoFns& f = fns[p];
            std::vector<llvm::Constant*> attrs;
            for (const auto& a : p->attributes) {
                if (a->first) continue; // another definition of an event attribute
                llvm::Constant* getter = a->isEvent ? nullptr : getterOf(p, a.get());
                // `hex`: as many digits as the type has whole bytes (tshark's BASE_HEX).
                uint32_t hexDigits = a->hex ? 2 * ((a->type.width + 7) / 8) : 0;
                attrs.push_back(llvm::ConstantStruct::get(
                    attrTy,
                    {cstr(a->name), B.getInt32(abiType(a->type)),
                     B.getInt32(a->isEvent ? MMT_ATTR_EVENT : MMT_ATTR_REQUEST), asI8p(getter),
                     B.getInt32(a->isEvent ? f.eventIndex[a.get()] : 0), B.getInt32(hexDigits)}));
            }
            std::vector<llvm::Constant*> names;
            for (const Field* fd : p->fieldTable) names.push_back(cstr(fd->name));
            uint32_t flags = 0;
            if (keyOf(*p)) flags |= MMT_PROTO_HAS_KEY;
            if (p->session) flags |= MMT_PROTO_SESSION | MMT_PROTO_HAS_KEY;
            if (p->stream) flags |= MMT_PROTO_STREAM;
            if (p->fragment) flags |= MMT_PROTO_FRAGMENTS;
            if (p->pduLength || (p->pduUntil && p->pduBody)) flags |= MMT_PROTO_PDU_LENGTH;
            if (p->pduUntil) flags |= MMT_PROTO_PDU_UNTIL;
            if (p->builtin) flags |= MMT_PROTO_BUILTIN;
            llvm::Constant* term =
                p->pduUntil ? cstr(*p->pduUntil) : llvm::ConstantPointerNull::get(i8p);
            entries.push_back(llvm::ConstantStruct::get(
                protoTy, {B.getInt32(uint32_t(p->id.value_or(0))),
                          cstr(p->name),
                          B.getInt32(flags),
                          B.getInt32(p->session ? uint32_t(p->session->timeoutMs) : 0),
                          B.getInt32(f.stateSize),
                          B.getInt32(uint32_t(attrs.size())),
                          constArray(attrTy, attrs, p->name + ".attrs"),
                          B.getInt32(uint32_t(names.size())),
                          constArray(i8p, names, p->name + ".fields"),
                          term,
                          B.getInt32(p->pduUntil ? uint32_t(p->pduUntil->size()) : 0),
                          B.getInt32(p->maxPdu.value_or(0)),
                          asI8p(f.validate),
                          asI8p(f.analyse),
                          asI8p(f.key),
                          asI8p(f.classify),
                          asI8p(f.pdu),
                          asI8p(f.update),
                          asI8p(f.init),
                          asI8p(f.stream),
                          asI8p(f.fragment),
                          asI8p(f.sides)}));
        }
        llvm::Constant* first = constArray(protoTy, entries, "protos");
        new llvm::GlobalVariable(
            M, libTy, true, llvm::GlobalValue::ExternalLinkage,
            llvm::ConstantStruct::get(
                libTy, {B.getInt32(MMT_ABI_VERSION), B.getInt32(uint32_t(entries.size())), first}),
            symbol);
    }

    // ------------------------------------------------------------------ state
    sema::SemaContext* S; // null when only the types are wanted
    llvm::Module& M;
    llvm::LLVMContext& C;
    llvm::IRBuilder<> B;
    llvm::Type *i1, *i8, *i16, *i32, *i64;
    llvm::PointerType* i8p;
    llvm::StructType *ctxTy, *valueTy, *resultTy, *keyTy, *classTy, *streamTy, *fragTy, *attrTy,
        *protoTy, *libTy;
    llvm::PointerType* ctxPtr;
    llvm::FunctionType *emitFnTy, *validateTy, *getterTy, *keyFnTy, *sidesTy, *classifyTy, *pduTy,
        *updateTy, *initTy, *streamFnTy, *fragFnTy;
    Function *hFind, *hIcase, *hToInt, *hTrim, *hAppend, *hMark, *hShort, *hFail, *hMatchAny,
        *hMemcmp, *hDomainName, *hNetbiosName, *hChunked, *hDigest, *hHex, *hAppendInt, *hSortInts,
        *hQuicInitial, *hAssembleInit, *hAssemblePut, *hAssembleEnd;
    std::map<const ast::Protocol*, std::vector<Rule>> rules;
    std::map<const ast::Protocol*, ProtoFns> fns;
    std::map<std::string, Value*> strings;
    std::vector<std::pair<Function*, std::function<void()>>> definers_;
};

} // namespace

void lower(sema::SemaContext& sema, llvm::Module& module,
           const std::vector<const ast::Protocol*>& mine, unsigned part) {
    Lowerer l(&sema, module);
    l.run(mine, partSymbol(part));
}

std::string partSymbol(unsigned part) {
    return std::string(MMT_LIBRARY_SYMBOL) + "_part" + std::to_string(part);
}

std::vector<AbiStruct> abiStructs(llvm::Module& module) {
    Lowerer l(nullptr, module); // the types need no specs
    return l.layouts();
}

} // namespace mmtc::codegen
