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

void Lowerer::emitLibrary(const std::vector<ast::Protocol*>& protos, const std::string& symbol) {
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

} // namespace mmtc::codegen::detail
