// The library table: one mmt_proto per protocol, their attributes and field names, the
// mmt_library.
#include "codegen/lowerer.h"

namespace mmtc::codegen::detail {

llvm::Constant* Lowerer::asI8p(llvm::Constant* c) {
    return c ? llvm::ConstantExpr::getBitCast(c, i8p) : llvm::ConstantPointerNull::get(i8p);
}

llvm::Constant* Lowerer::cstr(const std::string& s) {
    return llvm::cast<llvm::Constant>(stringConst(s));
}

llvm::Constant* Lowerer::constArray(llvm::Type* elem, const std::vector<llvm::Constant*>& items,
                                    const std::string& name) {
    if (items.empty()) return llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(elem));
    auto* at = llvm::ArrayType::get(elem, items.size());
    auto* gv = new llvm::GlobalVariable(M, at, true, llvm::GlobalValue::PrivateLinkage,
                                        llvm::ConstantArray::get(at, items), name);
    return llvm::ConstantExpr::getInBoundsGetElementPtr(
        at, gv, llvm::ArrayRef<llvm::Constant*>{B.getInt64(0), B.getInt64(0)});
}

/// The fields of the mmt_library for `n` protocols at `protos`, `nServices` services at
/// `services`.
static std::vector<llvm::Constant*> libraryFields(llvm::IRBuilder<>& B, uint32_t n,
                                                  llvm::Constant* protos, uint32_t nServices,
                                                  llvm::Constant* services) {
    std::vector<llvm::Constant*> e(abi::library::Count);
    e[abi::library::AbiVersion] = B.getInt32(MMT_ABI_VERSION);
    e[abi::library::NProtos] = B.getInt32(n);
    e[abi::library::Protos] = protos;
    e[abi::library::NServices] = B.getInt32(nServices);
    e[abi::library::Services] = services;
    return e;
}

llvm::Constant* Lowerer::emitServices(uint32_t& count) {
    std::vector<llvm::Constant*> entries;
    for (const sema::ServiceDef& s : S->services) {
        std::vector<llvm::Constant*> names;
        for (const std::string& n : s.names) names.push_back(cstr(n));
        std::vector<llvm::Constant*> bytes;
        for (const sema::ServicePrefix& p : s.prefixes) {
            bytes.push_back(B.getInt8(p.family));
            bytes.push_back(B.getInt8(p.length));
            for (uint8_t b : p.addr) bytes.push_back(B.getInt8(b));
        }
        std::vector<llvm::Constant*> e(abi::service::Count);
        e[abi::service::Name] = cstr(s.name);
        e[abi::service::NNames] = B.getInt32(uint32_t(names.size()));
        e[abi::service::Names] = constArray(i8p, names, "service." + s.name + ".names");
        e[abi::service::NPrefixes] = B.getInt32(uint32_t(s.prefixes.size()));
        e[abi::service::Prefixes] = bytes.empty()
                                        ? llvm::ConstantPointerNull::get(i8p)
                                        : constArray(i8, bytes, "service." + s.name + ".prefixes");
        entries.push_back(llvm::ConstantStruct::get(serviceTy, e));
    }
    count = uint32_t(entries.size());
    return constArray(serviceTy, entries, "services");
}

void Lowerer::emitLibrary(const std::vector<const ast::Protocol*>& protos,
                          const std::string& symbol, bool withServices) {
    std::vector<llvm::Constant*> entries;
    for (const ast::Protocol* p : protos) {
        ProtoFns& f = fns[p];
        std::vector<llvm::Constant*> attrs;
        for (const auto& a : p->attributes) {
            if (a->first) continue; // another definition of an event attribute
            llvm::Constant* getter = a->isEvent ? nullptr : getterOf(p, a.get());
            // `hex`: as many digits as the type has whole bytes (tshark's BASE_HEX).
            uint32_t hexDigits = a->hex ? 2 * ((a->type.width + 7) / 8) : 0;
            // Filled in field order: the strings are numbered as they are made.
            std::vector<llvm::Constant*> e(abi::attr::Count);
            e[abi::attr::Name] = cstr(a->name);
            e[abi::attr::Type] = B.getInt32(abiType(a->type));
            e[abi::attr::Kind] = B.getInt32(a->isEvent ? MMT_ATTR_EVENT : MMT_ATTR_REQUEST);
            e[abi::attr::Get] = asI8p(getter);
            e[abi::attr::EventIndex] = B.getInt32(a->isEvent ? f.eventIndex[a.get()] : 0);
            e[abi::attr::HexDigits] = B.getInt32(hexDigits);
            e[abi::attr::Description] = cstr(a->doc);
            attrs.push_back(llvm::ConstantStruct::get(attrTy, e));
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
        std::vector<llvm::Constant*> e(abi::proto::Count);
        e[abi::proto::Id] = B.getInt32(uint32_t(p->id.value_or(0)));
        e[abi::proto::Name] = cstr(p->name);
        e[abi::proto::Flags] = B.getInt32(flags);
        e[abi::proto::SessionTimeoutMs] =
            B.getInt32(p->session ? uint32_t(p->session->timeoutMs) : 0);
        e[abi::proto::StateSize] = B.getInt32(f.stateSize);
        e[abi::proto::NAttrs] = B.getInt32(uint32_t(attrs.size()));
        e[abi::proto::Attrs] = constArray(attrTy, attrs, p->name + ".attrs");
        e[abi::proto::NFields] = B.getInt32(uint32_t(names.size()));
        e[abi::proto::Fields] = constArray(i8p, names, p->name + ".fields");
        e[abi::proto::PduTerminator] = term;
        e[abi::proto::PduTerminatorLen] =
            B.getInt32(p->pduUntil ? uint32_t(p->pduUntil->size()) : 0);
        e[abi::proto::MaxPdu] = B.getInt32(p->maxPdu.value_or(0));
        e[abi::proto::Validate] = asI8p(f.validate);
        e[abi::proto::Analyse] = asI8p(f.analyse);
        e[abi::proto::Key] = asI8p(f.key);
        e[abi::proto::Classify] = asI8p(f.classify);
        e[abi::proto::PduLength] = asI8p(f.pdu);
        e[abi::proto::Update] = asI8p(f.update);
        e[abi::proto::InitState] = asI8p(f.init);
        e[abi::proto::Stream] = asI8p(f.stream);
        e[abi::proto::Fragment] = asI8p(f.fragment);
        e[abi::proto::Sides] = asI8p(f.sides);
        e[abi::proto::ReleaseState] = asI8p(f.release);
        entries.push_back(llvm::ConstantStruct::get(protoTy, e));
    }
    llvm::Constant* first = constArray(protoTy, entries, "protos");
    uint32_t nServices = 0;
    llvm::Constant* services =
        withServices ? emitServices(nServices)
                     : llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(serviceTy));
    new llvm::GlobalVariable(
        M, libTy, true, llvm::GlobalValue::ExternalLinkage,
        llvm::ConstantStruct::get(
            libTy, libraryFields(B, uint32_t(entries.size()), first, nServices, services)),
        symbol);
}

} // namespace mmtc::codegen::detail
