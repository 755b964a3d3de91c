// The code generator's shared state: the Lowerer (one per library part), what a walk
// knows about parsed fields (Slot, Scope), evaluated expressions (EV) and the state of the
// function being generated (FnState). Its methods are defined by responsibility in the
// other files of this folder; lower.cpp holds the driver.
#pragma once

#include "codegen/abi_fields.h"
#include "codegen/lower.h"

#include "mmt/abi.h"
#include "sema/sema.h"

#include <algorithm>
#include <bitset>
#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

namespace mmtc::codegen::detail {

using ast::Expr;
using ast::Field;
using llvm::BasicBlock;
using llvm::Function;
using llvm::Value;

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
using Scope = std::map<const Field*, Slot, ast::ByDeclaration>;
using FieldSet = std::set<const Field*, ast::ByDeclaration>;

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
    const ast::Protocol* proto = nullptr;
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
    // Getters: lets of records and of computed lists (see keptLet), computed at their first
    // use in this function and kept here: where the record starts and ends, or where the
    // list's integers are and how many.
    struct KeptLet {
        llvm::AllocaInst *done = nullptr, *first = nullptr, *second = nullptr;
        EV shape; // the kind and the static parts of the value
    };
    std::map<const ast::Let*, KeptLet> keptLets;
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

inline std::string fnName(const ast::Protocol& p, const std::string& stage) {
    return p.name + "." + stage;
}

/// Which items of header and body a walk covers; the last may be walked lazily.
struct WalkPlan {
    size_t headerItems = 0;
    size_t bodyItems = 0;
    FieldSet need;
};

class Lowerer {
  public:
    Lowerer(const sema::SemaContext* sema, llvm::Module& m);
    std::vector<AbiStruct> layouts();
    /// `withServices`: this part carries the library's services (one part does).
    void run(const std::vector<const ast::Protocol*>& mine, const std::string& symbol,
             bool withServices);
    /// The table of every protocol, with the services, and no code: each stage function
    /// it names is declared, with external linkage. `exports` receives those names, per
    /// protocol in id order (what each protocol's own module must define).
    void runTable(const std::string& symbol,
                  std::vector<std::pair<const ast::Protocol*, std::vector<std::string>>>& exports);
    /// The code of one protocol and no table: the functions named in `exports` are
    /// defined with external linkage, what they call privately. Returns the names it
    /// could not define (none, unless the table and the code disagree).
    std::vector<std::string> runProtocol(const ast::Protocol& p,
                                         const std::vector<std::string>& exports);

    // ------------------------------------------------------------------ types
    void declareTypes();
    void declareHelpers();

    // ------------------------------------------------------------------ protocol tables
    struct ProtoFns {
        Function* validate = nullptr;
        Function* analyse = nullptr;
        std::map<const ast::Attribute*, Function*, ast::ByDeclaration> getters;
        Function* key = nullptr;
        Function* sides = nullptr;
        Function* classify = nullptr;
        Function* pdu = nullptr;
        Function* update = nullptr;
        Function* init = nullptr;
        Function* release = nullptr; // frees the state's bytes
        Function* stream = nullptr;
        Function* fragment = nullptr;
        std::map<const ast::StateVar*, unsigned> stateOffset;
        unsigned stateSize = 0;
        std::map<const ast::Attribute*, unsigned> eventIndex;
        std::map<const ast::Let*, Function*> letFns;
        // Getters of attributes other expressions use, and let functions: each has a slot
        // of the layer's memo (memoSlots of them), its value computed once a packet.
        std::map<const Function*, unsigned> memoSlot;
        unsigned memoSlots = 0;
    };
    Function* makeFn(llvm::FunctionType* ty, const std::string& name);
    static bool hasEvents(const ast::Protocol& p);
    static const ast::KeyParts* keyOf(const ast::Protocol& p);
    static unsigned stateBytes(const ast::Type& t);
    void declareProtocol(const ast::Protocol& p);
    void defineProtocol(const ast::Protocol& p);
    Function* getterOf(const ast::Protocol* p, const ast::Attribute* a);
    /// The stage functions declared for a protocol, as its table entry names them (its
    /// outlined lets, which only its own code calls, aside).
    static std::vector<Function*> functionsOf(const ProtoFns& f);
    /// Defines what the functions defined so far call, then erases what nobody calls.
    void defineCallees();

    // ------------------------------------------------------------------ function scaffolding
    FnState begin(Function* F, const ast::Protocol& p, FailMode mode);
    llvm::AllocaInst* entryAlloca(FnState& st, llvm::Type* ty, const char* name);
    Scope& pushScope(FnState& st);
    void storeResult(Value* res, unsigned idx, Value* v);
    Value* pairOf(Value* first, Value* second);
    void storeResultPair(Value* res, unsigned idx, Value* a, Value* b);
    void fail(FnState& st, uint32_t status, uint32_t reason, const Field* f, Value* offset);
    void failDyn(FnState& st, uint32_t status, uint32_t reason, Value* field, Value* offset);
    void failIf(FnState& st, Value* bad, uint32_t status, uint32_t reason, const Field* f,
                Value* offset, const char* name = "ok");
    void continueIf(FnState& st, Value* ok, const char* name);
    static uint32_t boundsStatus(const Region& r);
    static uint32_t boundsReason(const Region& r);
    void evalFail(FnState& st);
    void evalFailIf(FnState& st, Value* bad);
    void deadEnd(FnState& st);
    Value* addOff(Value* a, Value* b);
    Value* subOff(Value* a, Value* b);
    Value* ptrAt(FnState& st, Value* off);
    Value* readIntAt(Value* base, Value* off, unsigned bytes, ast::ByteOrder order);
    ast::ByteOrder orderOf(const Field& f, const ast::Protocol& p);
    static unsigned scalarBytes(const Field& f);
    Value* readField(FnState& st, const Field& f, Value* off);
    Value* readVarint(FnState& st, const Field& f, Value* off);
    Value* walkVarint(FnState& st, const Field& f, Slot& s, Value* off, Region r);

    // ------------------------------------------------------------------ slots
    Value* slotGet(const Slot& s, Value* Slot::*m);
    void slotSet(FnState& st, Slot& s, Value* Slot::*m, Value* v);
    Slot& memSlot(FnState& st, Scope& scope, const Field& f);
    void predeclare(FnState& st, Scope& scope, const std::vector<ast::FieldItem>& items);

    // ------------------------------------------------------------------ sizes
    static unsigned fixedSize(const Field& f);
    static bool isFixedItem(const ast::FieldItem& it);
    static const Field* blameOf(const std::vector<ast::FieldItem>& items, size_t i);

    // ------------------------------------------------------------------ the walker
    Value* walkItems(FnState& st, const std::vector<ast::FieldItem>& items, size_t limit,
                     Value* off, Region r, Scope& scope, const Field* lazy = nullptr);
    void emitRunCheck(FnState& st, Value* off, Region r, unsigned run,
                      const std::vector<std::pair<const Field*, unsigned>>& ends);
    void need(FnState& st, Value* off, Region r, Value* n, const Field* f, unsigned& prechecked,
              unsigned staticN);
    Value* walkField(FnState& st, const Field& f, Value* off, Region r, Scope& scope,
                     unsigned& prechecked, bool lazy);
    Value* evalSize(FnState& st, const Expr& e, const Field* f, Value* off, Region r);
    Value* evalSize(FnState& st, const Expr& e, const Field& f, Value* off, Region r);
    Value* walkBytes(FnState& st, const Field& f, Slot& s, Value* off, Region r,
                     unsigned& prechecked);
    using ElemBody = std::function<void(Value* elemOff, Value* elemEnd, Scope* elemScope)>;
    Value* listLoop(FnState& st, const Field& f, Value* start, Region region, Value* count,
                    const ElemBody& body);
    llvm::MDNode* noUnroll();
    Value* walkList(FnState& st, const Field& f, Slot& s, Value* off, Region r, bool lazy);
    Value* walkSwitch(FnState& st, const ast::Switch& sw, Value* off, Region r, Scope& scope);
    static const Field* armLazy(const FnState& st, const ast::Switch& sw,
                                const ast::SwitchArm& arm);
    void branchCases(Value* x, const std::vector<ast::CaseValue>& cases, BasicBlock* yes,
                     BasicBlock* no);
    Value* matchCases(FnState& st, Value* x, const std::vector<ast::CaseValue>& cases);
    Value* inCase(Value* x, const ast::CaseValue& cv);

    // ------------------------------------------------------------------ walking a protocol
    static bool containsField(const std::vector<ast::FieldItem>& items, const Field* f);
    static bool containsSwitch(const ast::Switch& sw, const Field* f);
    static std::pair<int, size_t> itemOf(const ast::Protocol& p, const Field* f);
    WalkPlan planFor(const ast::Protocol& p, const FieldSet& need);
    void collectFields(const ast::Protocol& p, const Expr& e, FieldSet& out,
                       std::set<const ast::Let*>& seen);
    FieldSet fieldsOf(const ast::Protocol& p, std::initializer_list<const Expr*> exprs);
    const Field* lazyItem(FnState& st, const std::vector<ast::FieldItem>& items, size_t limit,
                          const FieldSet& need);
    Value* walkProtocol(FnState& st, const ast::Protocol& p, const WalkPlan& plan,
                        bool wholeLast = false, Value** endOut = nullptr);
    void preload(FnState& st, const FieldSet& need);
    static bool usesPayload(const Expr& e, std::set<const ast::Let*>& seen);
    void ensureLengths(FnState& st);
    void lengthsFromResult(FnState& st, Value* res);

    // ------------------------------------------------------------------ stage functions
    void defineValidate(const ast::Protocol& p, ProtoFns& f);
    static bool fieldChain(const Expr& e, std::vector<const Field*>& out);
    bool hookFor(const ast::Protocol& p, const ast::Attribute& a, std::vector<const Field*>& key,
                 std::vector<const Field*>& rest);
    void defineAnalyse(const ast::Protocol& p, ProtoFns& f);
    void raiseInScope(FnState& st, const ast::Attribute& a, const EV& elem, Scope* elemScope);
    void raiseHooked(FnState& st, const FnState::Hook& h, const EV& elem, Scope* elemScope);
    Value* wantedBit(FnState& st, const ast::Attribute& a);
    void raiseEvent(FnState& st, const ast::Attribute& a, const EV* elem, bool checkWanted = true);
    static uint32_t abiType(const ast::Type& t);
    void fillValue(FnState& st, Value* out, const EV& v, const ast::Type& t);
    static bool outlined(const ast::Let& l);
    static ast::Type letValueType(const ast::Let& l);
    void defineLetFn(const ast::Protocol& p, const ast::Let& l, Function* fn);
    EV memoLet(FnState& st, const ast::Let& l);
    static bool keptInFunction(const ast::Let& l);
    EV keptLet(FnState& st, const ast::Let& l);
    void assignMemoSlots(const ast::Protocol& p, ProtoFns& f);
    llvm::AllocaInst* memoEnter(FnState& st, Function* fn);
    void memoSettle(FnState& st, llvm::AllocaInst* slot, Value* out);
    Value* memoStatePtr(Value* at);
    void memoForget(FnState& st);
    void defineGetter(const ast::Protocol& p, const ast::Attribute& a, Function* fn);
    void appendKey(FnState& st, Value* key, unsigned side, const EV& v, const ast::Type& t);
    void defineKey(const ast::Protocol& p, ProtoFns& f);
    void defineSides(const ast::Protocol& p, ProtoFns& f);
    void walkForRules(FnState& st, const ast::Protocol& p, const std::vector<FieldSet>& needs,
                      const std::function<void(size_t)>& each,
                      const std::function<Value*(size_t)>& guard = nullptr);
    /// The first payload bytes for which a rule's condition can hold: 0-255, and 256 for
    /// an empty payload. What the analysis cannot tell leaves every byte possible, so a
    /// rule skipped by this test is one that could not have matched.
    using FirstBytes = std::bitset<257>;
    static FirstBytes firstBytesOf(const Expr& e);
    Value* inByteSet(Value* first, const FirstBytes& set);
    void defineClassify(const ast::Protocol& p, ProtoFns& f);
    void definePdu(const ast::Protocol& p, ProtoFns& f);
    void definePduBody(const ast::Protocol& p, ProtoFns& f);
    Value* stateBase(FnState& st);
    Value* statePtr(FnState& st, Value* base, const ast::StateVar* v);
    void storeState(FnState& st, Value* ptr, const EV& v, const ast::StateVar& var);
    void defineUpdate(const ast::Protocol& p, ProtoFns& f);
    void defineInit(const ast::Protocol& p, ProtoFns& f);
    void defineRelease(const ast::Protocol& p, ProtoFns& f);
    void defineFromBlock(Function* F, const ast::Protocol& p, const ast::Block& b,
                         const std::function<Value*(FnState&, Value* out)>& fill);
    void defineStream(const ast::Protocol& p, ProtoFns& f);
    void defineFragment(const ast::Protocol& p, ProtoFns& f);

    // ------------------------------------------------------------------ expressions
    Value* evalInt(FnState& st, const Expr& e);
    Value* evalBool(FnState& st, const Expr& e);
    Value* stringConst(const std::string& s);
    const Slot* findSlot(FnState& st, const Field* f);
    static ast::Type addrType(ast::TypeSpec::Kind k);
    EV fieldValue(FnState& st, const Field& f, const Slot& cs);
    EV intEV(Value* v);
    EV boolEV(Value* v);
    EV bytesEV(Value* p, Value* n);
    EV addrEV(Value* p, unsigned n);
    EV recordMember(FnState& st, const EV& rec, const Field* member);
    EV elementAt(FnState& st, const Field& f, Value* off, Value* end, bool sized);
    using ElemFn = std::function<void(EV, Scope*, BasicBlock*)>;
    void forEachElement(FnState& st, const EV& seq, const ElemFn& fn);
    void applySteps(FnState& st, EV cur, Scope* curScope, const std::vector<const Field*>& steps,
                    size_t i, const ElemFn& fn, BasicBlock* cont);
    EV eval(FnState& st, const Expr& e);
    EV bitOf(const EV& v, const Field& f, unsigned bit);
    EV evalName(FnState& st, const Expr& e);
    EV callGetter(FnState& st, Function* getter, Value* ctx, const ast::Type& t);
    EV fromValue(Value* tmp, const ast::Type& t);
    EV evalMember(FnState& st, const Expr& e);
    EV evalParentAttr(FnState& st, const Expr& e);
    EV evalIndex(FnState& st, const Expr& e);
    EV firstElement(FnState& st, const EV& seq);
    /// Somewhere to keep one element of a sequence past the loop that found it.
    struct ElemStore {
        llvm::AllocaInst *found, *off, *region, *val, *ptr, *len;
        bool sized = false;
    };
    ElemStore elemStore(FnState& st);
    void keepElement(ElemStore& s, const EV& elem);
    EV keptElement(const ElemStore& s, const ast::Type& et);
    void inElementScope(FnState& st, const EV& elem, Scope* elemScope,
                        const std::function<void()>& fn);
    EV search(FnState& st, const EV& seq, const Expr& cond, bool any);
    static size_t memberLimit(const ast::Record& rec, const Field* member);
    EV fieldOffset(FnState& st, const Expr& a, bool size = false);
    EV nthElement(FnState& st, const EV& seq, Value* i, bool lastOne);
    static ast::Type elementTypeOf(const EV& seq);
    EV evalCond(FnState& st, const Expr& e);
    Value* guardedTest(FnState& st, Value* guard, const char* name,
                       const std::function<Value*()>& test);
    Value* bytesEqual(FnState& st, const EV& a, const EV& b);
    EV evalBinary(FnState& st, const Expr& e);
    Value* asInt(const EV& v);
    EV asBytes(FnState& st, const EV& v);
    Value* hasAt(FnState& st, const EV& b, const std::string& lit, bool atEnd, bool icase);
    EV evalCall(FnState& st, const Expr& e);
    EV assemble(FnState& st, const EV& seq, const Expr& offset, const Expr& data);
    Value* intAt(const EV& ints, Value* i);
    EV collectInts(FnState& st, const EV& seq, const std::function<Value*(Value*)>& keep,
                   unsigned width);
    Value* countElements(FnState& st, const EV& seq);
    EV split(FnState& st, const EV& b, const std::string& sep, uint64_t index);
    EV join(FnState& st, const EV& seq, const std::string& sep, unsigned hexDigits = 0);
    Value* appendToScratch(FnState& st, Value* p, Value* n);

    // ------------------------------------------------------------------ the library table
    llvm::Constant* asI8p(llvm::Constant* c);
    llvm::Constant* cstr(const std::string& s);
    llvm::Constant* constArray(llvm::Type* elem, const std::vector<llvm::Constant*>& items,
                               const std::string& name);
    void emitLibrary(const std::vector<const ast::Protocol*>& protos, const std::string& symbol,
                     bool withServices);
    /// The mmt_service table of the library (null when there are none).
    llvm::Constant* emitServices(uint32_t& count);

    // ------------------------------------------------------------------ state
    const sema::SemaContext* S; // null when only the types are wanted
    llvm::Module& M;
    llvm::LLVMContext& C;
    llvm::IRBuilder<> B;
    llvm::Type *i1, *i8, *i16, *i32, *i64;
    llvm::PointerType* i8p;
    llvm::StructType *ctxTy, *scratchTy, *valueTy, *resultTy, *keyTy, *classTy, *streamTy, *fragTy,
        *attrTy, *protoTy, *serviceTy, *libTy;
    llvm::PointerType* ctxPtr;
    llvm::FunctionType *emitFnTy, *validateTy, *getterTy, *keyFnTy, *sidesTy, *classifyTy, *pduTy,
        *updateTy, *initTy, *streamFnTy, *fragFnTy;
    Function *hFind, *hIcase, *hToInt, *hTrim, *hAppend, *hMark, *hMemo, *hShort, *hFail,
        *hMatchAny, *hMemcmp, *hDomainName, *hNetbiosName, *hChunked, *hRunOf, *hDigest, *hHex,
        *hAppendInt, *hSortInts, *hQuicInitial, *hAssembleInit, *hAssemblePut, *hAssembleEnd,
        *hStateBytesGet, *hStateBytesSet, *hStateBytesFree;
    std::map<const ast::Protocol*, ProtoFns> fns;
    std::map<std::string, Value*> strings;
    std::vector<std::pair<Function*, std::function<void()>>> definers_;
};

} // namespace mmtc::codegen::detail
