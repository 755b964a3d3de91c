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
//
// This file holds the driver: declaring and defining the functions of each protocol. The
// Lowerer is declared in lowerer.h; its methods live in files by responsibility (ABI
// types, host helpers, the walker, expressions, built-ins, one file per stage, the table).
#include "codegen/lowerer.h"
#include "loader/library_object.h"

namespace mmtc::codegen {

namespace detail {

Lowerer::Lowerer(const sema::SemaContext* sema, llvm::Module& m)
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

/// The ABI structs under the module's data layout.
std::vector<AbiStruct> Lowerer::layouts() {
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
    add("mmt_scratch", scratchTy);
    add("mmt_key", keyTy);
    add("mmt_class_result", classTy);
    add("mmt_stream_info", streamTy);
    add("mmt_frag_info", fragTy);
    add("mmt_attr", attrTy);
    add("mmt_proto", protoTy);
    add("mmt_service", serviceTy);
    add("mmt_library", libTy);
    return out;
}

/// Lowers the protocols in `mine` (every protocol when empty) into a library part
/// exported as `symbol`. Functions of other protocols that these call (a parent's
/// getters for `parent.x`) are defined here too, privately: each part links alone.
void Lowerer::run(const std::vector<const ast::Protocol*>& mine, const std::string& symbol,
                  bool withServices) {
    // Protocols in id order, `frame` (id 0) first: the runtime indexes them as given.
    const std::vector<const ast::Protocol*>& protos = S->byId;
    for (const ast::Protocol* p : protos) declareProtocol(*p);
    std::vector<const ast::Protocol*> here;
    for (const ast::Protocol* p : protos)
        if (mine.empty() || std::find(mine.begin(), mine.end(), p) != mine.end()) here.push_back(p);
    for (const ast::Protocol* p : here) defineProtocol(*p);
    defineCallees();
    emitLibrary(here, symbol, withServices);
}

void Lowerer::defineCallees() {
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
    definers_.clear();
}

std::vector<Function*> Lowerer::functionsOf(const ProtoFns& f) {
    std::vector<Function*> out{f.validate, f.analyse, f.key,     f.sides,  f.classify, f.pdu,
                               f.update,   f.init,    f.release, f.stream, f.fragment};
    for (const auto& [attr, fn] : f.getters) out.push_back(fn);
    out.erase(std::remove(out.begin(), out.end(), nullptr), out.end());
    return out;
}

void Lowerer::runTable(
    const std::string& symbol,
    std::vector<std::pair<const ast::Protocol*, std::vector<std::string>>>& exports) {
    for (const ast::Protocol* p : S->byId) declareProtocol(*p);
    // Every session runs every protocol's init_state (and release_state): they are
    // small, and defined here, so that a session compiles no protocol it does not reach.
    for (const ast::Protocol* p : S->byId) {
        ProtoFns& f = fns[p];
        if (f.init) defineInit(*p, f);
        if (f.release) defineRelease(*p, f);
    }
    emitLibrary(S->byId, symbol, true);
    exports.clear();
    std::set<Function*> elsewhere;
    for (const ast::Protocol* p : S->byId) {
        ProtoFns& f = fns[p];
        std::vector<std::string> names;
        for (Function* fn : functionsOf(f)) {
            if (fn == f.init || fn == f.release || fn->use_empty()) continue;
            // Defined by the protocol's own module, compiled when first called.
            fn->setLinkage(Function::ExternalLinkage);
            fn->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::None);
            names.push_back(fn->getName().str());
            elsewhere.insert(fn);
        }
        exports.emplace_back(p, std::move(names));
    }
    definers_.erase(std::remove_if(definers_.begin(), definers_.end(),
                                   [&](const auto& d) { return elsewhere.count(d.first) > 0; }),
                    definers_.end());
    defineCallees();
}

std::vector<std::string> Lowerer::runProtocol(const ast::Protocol& p,
                                              const std::vector<std::string>& exports) {
    for (const ast::Protocol* q : S->byId) declareProtocol(*q);
    defineProtocol(p);
    // Kept (and named as the table names them) before unused functions are erased.
    for (const std::string& name : exports) {
        if (Function* fn = M.getFunction(name)) {
            fn->setLinkage(Function::ExternalLinkage);
            fn->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::None);
        }
    }
    defineCallees();
    std::vector<std::string> missing;
    for (const std::string& name : exports)
        if (Function* fn = M.getFunction(name); !fn || fn->isDeclaration()) missing.push_back(name);
    return missing;
}

Function* Lowerer::makeFn(llvm::FunctionType* ty, const std::string& name) {
    // Reached only through the library table: internal, and their addresses carry no
    // meaning, so that identical functions (a u16 at offset 2 is a u16 at offset 2, in
    // TCP or in UDP) are merged before optimization (see jit.cpp).
    Function* f = Function::Create(ty, Function::InternalLinkage, name, M);
    f->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    f->addFnAttr(llvm::Attribute::NoUnwind);
    return f;
}

bool Lowerer::hasEvents(const ast::Protocol& p) {
    for (const auto& a : p.attributes)
        if (a->isEvent) return true;
    return false;
}

const ast::KeyParts* Lowerer::keyOf(const ast::Protocol& p) {
    if (p.key) return &*p.key;
    if (p.session && p.session->key) return &*p.session->key;
    return nullptr;
}

unsigned Lowerer::stateBytes(const ast::Type& t) {
    return t.kind == ast::Type::Ipv6 ? 16 : 8; // bytes: a pointer to their block
}

void Lowerer::declareProtocol(const ast::Protocol& p) {
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
    if (S->rules.count(&p)) f.classify = makeFn(classifyTy, fnName(p, "classify"));
    if (p.pduLength || (p.pduUntil && p.pduBody)) f.pdu = makeFn(pduTy, fnName(p, "pdu_length"));
    unsigned off = 0;
    for (const auto& v : p.state) {
        f.stateOffset[v.get()] = off;
        off += stateBytes(v->type);
    }
    f.stateSize = off;
    if (!p.updates.empty()) f.update = makeFn(updateTy, fnName(p, "update"));
    if (!p.state.empty()) f.init = makeFn(initTy, fnName(p, "init_state"));
    for (const auto& v : p.state)
        if (v->type.kind == ast::Type::Bytes && !f.release)
            f.release = makeFn(initTy, fnName(p, "release_state"));
    if (p.stream) f.stream = makeFn(streamFnTy, fnName(p, "stream"));
    if (p.fragment) f.fragment = makeFn(fragFnTy, fnName(p, "fragment"));
    // How to define each function on its own, for parts that only call it.
    const ast::Protocol* pp = &p;
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
    assignMemoSlots(p, f);
    add(f.key, [this, pp] { defineKey(*pp, fns[pp]); });
    add(f.sides, [this, pp] { defineSides(*pp, fns[pp]); });
    add(f.classify, [this, pp] { defineClassify(*pp, fns[pp]); });
    add(f.pdu, [this, pp] { definePdu(*pp, fns[pp]); });
    add(f.update, [this, pp] { defineUpdate(*pp, fns[pp]); });
    add(f.init, [this, pp] { defineInit(*pp, fns[pp]); });
    add(f.release, [this, pp] { defineRelease(*pp, fns[pp]); });
    add(f.stream, [this, pp] { defineStream(*pp, fns[pp]); });
    add(f.fragment, [this, pp] { defineFragment(*pp, fns[pp]); });
}

void Lowerer::defineProtocol(const ast::Protocol& p) {
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
    if (f.release) defineRelease(p, f);
    if (f.stream) defineStream(p, f);
    if (f.fragment) defineFragment(p, f);
}

Function* Lowerer::getterOf(const ast::Protocol* p, const ast::Attribute* a) {
    auto it = fns.find(p);
    if (it == fns.end()) return nullptr;
    auto g = it->second.getters.find(a);
    return g == it->second.getters.end() ? nullptr : g->second;
}

} // namespace detail

using detail::Lowerer;

void lower(const sema::SemaContext& sema, llvm::Module& module,
           const std::vector<const ast::Protocol*>& mine, unsigned part) {
    Lowerer l(&sema, module);
    // The services are data of the whole library: the first part carries them.
    l.run(mine, partSymbol(part), part == 0);
}

void lowerTable(const sema::SemaContext& sema, llvm::Module& module,
                std::vector<std::pair<const ast::Protocol*, std::vector<std::string>>>& exports) {
    Lowerer l(&sema, module);
    l.runTable(partSymbol(0), exports);
}

std::vector<std::string> lowerProtocol(const sema::SemaContext& sema, llvm::Module& module,
                                       const ast::Protocol& p,
                                       const std::vector<std::string>& exports) {
    Lowerer l(&sema, module);
    return l.runProtocol(p, exports);
}

std::string partSymbol(unsigned part) {
    return mmt::part_symbol(part);
}

std::vector<AbiStruct> abiStructs(llvm::Module& module) {
    Lowerer l(nullptr, module); // the types need no specs
    return l.layouts();
}

} // namespace mmtc::codegen
