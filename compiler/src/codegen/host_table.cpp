// The host function table (see host_table.h) and the C++-to-LLVM type mapping that
// checks it.
#include "codegen/host_table.h"

#include "codegen/lower.h"
#include "helpers/host.h"

#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/raw_ostream.h>

#include <cstring>
#include <type_traits>

namespace mmtc::codegen {

namespace {

/// The LLVM type of a C++ parameter or result type, as abi.h's types are declared in IR.
template <class T> llvm::Type* irOf(const HostTypes& t) {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_pointer_v<U>) {
        using P = std::remove_cv_t<std::remove_pointer_t<U>>;
        if constexpr (std::is_void_v<P>)
            return t.i8p; // void*: i8*
        else
            return llvm::PointerType::getUnqual(irOf<P>(t));
    } else if constexpr (std::is_same_v<U, mmt_ctx>) {
        return t.ctx;
    } else if constexpr (std::is_same_v<U, mmt_parse_result>) {
        return t.result;
    } else if constexpr (std::is_void_v<U>) {
        return t.v;
    } else if constexpr (std::is_integral_v<U> && sizeof(U) == 1) {
        return t.i8;
    } else if constexpr (std::is_integral_v<U> && sizeof(U) == 2) {
        return t.i16;
    } else if constexpr (std::is_integral_v<U> && sizeof(U) == 4) {
        return t.i32;
    } else if constexpr (std::is_integral_v<U> && sizeof(U) == 8) {
        return t.i64;
    } else {
        static_assert(sizeof(U) == 0, "no IR type for this C++ type");
    }
}

template <class F> struct FnTypeOf;
template <class R, class... A> struct FnTypeOf<R (*)(A...)> {
    static llvm::FunctionType* get(const HostTypes& t) {
        return llvm::FunctionType::get(irOf<R>(t), {irOf<A>(t)...}, false);
    }
};
template <class R> struct FnTypeOf<R (*)()> {
    static llvm::FunctionType* get(const HostTypes& t) {
        return llvm::FunctionType::get(irOf<R>(t), false);
    }
};

llvm::FunctionType* fn(llvm::Type* ret, std::initializer_list<llvm::Type*> args) {
    return llvm::FunctionType::get(ret, llvm::ArrayRef<llvm::Type*>(args.begin(), args.size()),
                                   false);
}
llvm::PointerType* ptr(llvm::Type* t) {
    return llvm::PointerType::getUnqual(t);
}

/// An entry for the function at F, declared in IR as `ir` says.
template <auto F>
HostFn entry(const char* name, llvm::FunctionType* (*ir)(const HostTypes&), unsigned attrs = 0) {
    return HostFn{name, reinterpret_cast<void*>(F), ir, &FnTypeOf<decltype(F)>::get, attrs};
}

using MemcpyFn = void* (*)(void*, const void*, size_t);
using MemsetFn = void* (*)(void*, int, size_t);
using MemcmpFn = int (*)(const void*, const void*, size_t);
constexpr unsigned kRO = HostFn::ReadsOnly, kArg = HostFn::ArgMemOnly, kCold = HostFn::Cold;

} // namespace

const std::vector<HostFn>& hostFunctions() {
    using T = const HostTypes&;
    static const std::vector<HostFn> table = {
        entry<&mmt_rt_find>(
            "mmt_rt_find",
            [](T t) {
                return fn(t.i64, {t.i8p, t.i64, t.i8p, t.i64});
            },
            kRO | kArg),
        entry<&mmt_rt_run_of>(
            "mmt_rt_run_of",
            [](T t) {
                return fn(t.i64, {t.i8p, t.i64, t.i32});
            },
            kRO | kArg),
        entry<&mmt_rt_icase_eq>(
            "mmt_rt_icase_eq",
            [](T t) {
                return fn(t.i32, {t.i8p, t.i8p, t.i64});
            },
            kRO | kArg),
        entry<&mmt_rt_to_int>(
            "mmt_rt_to_int",
            [](T t) {
                return fn(t.i32, {t.i8p, t.i64, ptr(t.i64)});
            },
            kArg),
        entry<&mmt_rt_trim>(
            "mmt_rt_trim",
            [](T t) {
                return fn(t.i64, {t.i8p, t.i64, ptr(t.i64)});
            },
            kArg),
        entry<&mmt_rt_scratch_append>("mmt_rt_scratch_append",
                                      [](T t) {
                                          return fn(t.i8p, {ptr(t.ctx), t.i8p, t.i64});
                                      }),
        entry<&mmt_rt_scratch_mark>(
            "mmt_rt_scratch_mark", [](T t) { return fn(t.i8p, {ptr(t.ctx)}); }, kRO),
        entry<&mmt_rt_memo>("mmt_rt_memo",
                            [](T t) {
                                return fn(t.i8p, {ptr(t.ctx), t.i64});
                            }),
        entry<&mmt_rt_domain_name>("mmt_rt_domain_name",
                                   [](T t) {
                                       return fn(t.i64, {ptr(t.ctx), t.i8p, t.i64, t.i64});
                                   }),
        entry<&mmt_rt_netbios_name>("mmt_rt_netbios_name",
                                    [](T t) {
                                        return fn(t.i64, {ptr(t.ctx), t.i8p, t.i64});
                                    }),
        entry<&mmt_rt_chunked_length>(
            "mmt_rt_chunked_length",
            [](T t) {
                return fn(t.i64, {t.i8p, t.i64});
            },
            kRO | kArg),
        entry<&mmt_rt_digest>("mmt_rt_digest",
                              [](T t) {
                                  return fn(t.i64, {ptr(t.ctx), t.i8p, t.i64, t.i32});
                              }),
        entry<&mmt_rt_hex>("mmt_rt_hex",
                           [](T t) {
                               return fn(t.i64, {ptr(t.ctx), t.i8p, t.i64});
                           }),
        entry<&mmt_rt_append_int>("mmt_rt_append_int",
                                  [](T t) {
                                      return fn(t.i8p, {ptr(t.ctx), t.i64, t.i32});
                                  }),
        entry<&mmt_rt_sort_ints>(
            "mmt_rt_sort_ints",
            [](T t) {
                return fn(t.v, {t.i8p, t.i64});
            },
            kArg),
        entry<&mmt_rt_quic_initial>("mmt_rt_quic_initial",
                                    [](T t) {
                                        return fn(t.i64, {ptr(t.ctx), t.i8p, t.i64, t.i64, t.i64,
                                                          t.i32, t.i8p, t.i64, ptr(t.i8p)});
                                    }),
        entry<&mmt_rt_state_bytes_get>("mmt_rt_state_bytes_get",
                                       [](T t) {
                                           return fn(t.i8p, {t.i8p, ptr(t.i64)});
                                       }),
        entry<&mmt_rt_state_bytes_set>("mmt_rt_state_bytes_set",
                                       [](T t) {
                                           return fn(t.i32, {t.i8p, t.i8p, t.i64, t.i64});
                                       }),
        entry<&mmt_rt_state_bytes_free>("mmt_rt_state_bytes_free",
                                        [](T t) { return fn(t.v, {t.i8p}); }),
        entry<&mmt_rt_assemble_init>("mmt_rt_assemble_init",
                                     [](T t) {
                                         return fn(t.i8p, {ptr(t.ctx), t.i64});
                                     }),
        entry<&mmt_rt_assemble_put>("mmt_rt_assemble_put",
                                    [](T t) {
                                        return fn(t.v, {t.i8p, t.i64, t.i64, t.i8p, t.i64});
                                    }),
        entry<&mmt_rt_assemble_end>(
            "mmt_rt_assemble_end",
            [](T t) {
                return fn(t.i64, {t.i8p, t.i64});
            },
            kRO),
        entry<&mmt_rt_match_any>(
            "mmt_rt_match_any",
            [](T t) {
                return fn(t.i32, {t.i8p, t.i64, t.i8p, t.i32});
            },
            kRO | kArg),
        entry<&mmt_rt_fail>(
            "mmt_rt_fail",
            [](T t) {
                return fn(t.v, {ptr(t.result), t.i32, t.i64});
            },
            kArg | kCold),
        entry<&mmt_rt_short>(
            "mmt_rt_short",
            [](T t) {
                return fn(t.v, {ptr(t.result), t.i64, t.i64, ptr(t.i32), t.i32, t.i32, t.i32});
            },
            kArg | kCold),
        entry<static_cast<MemcmpFn>(&std::memcmp)>(
            "memcmp",
            [](T t) {
                return fn(t.i32, {t.i8p, t.i8p, t.i64});
            },
            kRO | kArg),
        // LLVM may turn memcmp(...) == 0 into bcmp, and form memcpy and memset calls.
        entry<static_cast<MemcmpFn>(&std::memcmp)>("bcmp", nullptr),
        entry<static_cast<MemcpyFn>(&std::memcpy)>("memcpy", nullptr),
        entry<static_cast<MemsetFn>(&std::memset)>("memset", nullptr),
    };
    return table;
}

std::vector<std::string> hostSignatureMismatches() {
    llvm::LLVMContext c;
    llvm::Module m("host-signatures", c);
    abiStructs(m); // declares the ABI types and the host functions, as lower() does
    HostTypes t{llvm::Type::getVoidTy(c),
                llvm::Type::getInt8Ty(c),
                llvm::Type::getInt16Ty(c),
                llvm::Type::getInt32Ty(c),
                llvm::Type::getInt64Ty(c),
                llvm::PointerType::getUnqual(llvm::Type::getInt8Ty(c)),
                llvm::StructType::getTypeByName(c, "mmt_ctx"),
                llvm::StructType::getTypeByName(c, "mmt_parse_result")};
    auto text = [](llvm::Type* ty) {
        std::string s;
        llvm::raw_string_ostream os(s);
        ty->print(os);
        return os.str();
    };
    std::vector<std::string> out;
    for (const HostFn& h : hostFunctions()) {
        llvm::Function* f = m.getFunction(h.name);
        if (!h.irType) {
            if (f) out.push_back(std::string(h.name) + ": declared, but marked as LLVM's own");
            continue;
        }
        if (!f) {
            out.push_back(std::string(h.name) + ": not declared");
            continue;
        }
        llvm::FunctionType* want = h.cxxType(t);
        if (f->getFunctionType() != want)
            out.push_back(std::string(h.name) + ": declared " + text(f->getFunctionType()) +
                          ", C++ type " + text(want));
    }
    for (const llvm::Function& f : m)
        if (f.isDeclaration() && !f.isIntrinsic()) {
            bool known = false;
            for (const HostFn& h : hostFunctions()) known |= f.getName() == h.name;
            if (!known) out.push_back(f.getName().str() + ": declared, not in the table");
        }
    return out;
}

} // namespace mmtc::codegen
