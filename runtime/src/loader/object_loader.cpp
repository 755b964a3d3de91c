// The object loader: ELF64 relocatable objects for x86-64, as the code generator emits
// them (any code model, position-independent or not), laid out in one mapping.
#include "loader/object_loader.h"

#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <unordered_set>
#include <vector>

namespace mmt {

namespace {

// The three kinds of memory a section needs, each its own run of pages.
enum Region { kCode, kReadOnly, kWritable, kRegions };

struct Section {
    Elf64_Shdr h{};
    int region = -1;    // -1: not loaded
    size_t offset = 0;  // within its region, then within the mapping
    uintptr_t addr = 0; // once mapped
};

struct Object {
    std::string_view bytes;
    std::vector<Section> sections;
    std::vector<Elf64_Sym> symbols;
    std::string_view names; // the symbol table's string table
    // Each symbol's address once a relocation has needed it (resolved[i] says whether).
    std::vector<uintptr_t> address;
    std::vector<uint8_t> resolved;
};

template <typename T> T read(std::string_view bytes, size_t offset) {
    T v;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    return v;
}

bool within(std::string_view bytes, uint64_t offset, uint64_t size) {
    return offset <= bytes.size() && size <= bytes.size() - offset;
}

std::string_view name_at(std::string_view table, uint32_t offset) {
    if (offset >= table.size()) return {};
    const char* s = table.data() + offset;
    return {s, strnlen(s, table.size() - offset)};
}

bool parse(std::string_view bytes, Object& o, std::string& error) {
    o.bytes = bytes;
    if (bytes.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) {
        error = "not an ELF object";
        return false;
    }
    auto eh = read<Elf64_Ehdr>(bytes, 0);
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_type != ET_REL || eh.e_machine != EM_X86_64) {
        error = "not a relocatable x86-64 object";
        return false;
    }
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 ||
        !within(bytes, eh.e_shoff, uint64_t(eh.e_shnum) * sizeof(Elf64_Shdr))) {
        error = "damaged ELF object: section headers";
        return false;
    }
    o.sections.resize(eh.e_shnum);
    for (size_t i = 0; i < eh.e_shnum; ++i) {
        Elf64_Shdr& h = o.sections[i].h;
        h = read<Elf64_Shdr>(bytes, eh.e_shoff + i * sizeof(Elf64_Shdr));
        if (h.sh_type != SHT_NOBITS && h.sh_type != SHT_NULL &&
            !within(bytes, h.sh_offset, h.sh_size)) {
            error = "damaged ELF object: section " + std::to_string(i) + " lies outside it";
            return false;
        }
        if (h.sh_addralign > 4096 || (h.sh_addralign & (h.sh_addralign - 1)) != 0) {
            error = "ELF section " + std::to_string(i) + " has an unsupported alignment";
            return false;
        }
        if ((h.sh_flags & SHF_ALLOC) && h.sh_size > (uint64_t(1) << 30)) {
            error = "ELF section " + std::to_string(i) + " is too large";
            return false;
        }
        if ((h.sh_flags & SHF_ALLOC) && (h.sh_flags & SHF_TLS)) {
            error = "ELF object has thread-local data, which the loader does not support";
            return false;
        }
        if (h.sh_type == SHT_REL) {
            error = "ELF object has REL relocations, which x86-64 does not use";
            return false;
        }
    }
    for (const Section& s : o.sections) {
        if (s.h.sh_type != SHT_SYMTAB) continue;
        if (!o.symbols.empty()) {
            error = "ELF object has two symbol tables";
            return false;
        }
        if (s.h.sh_entsize != sizeof(Elf64_Sym) || s.h.sh_link >= o.sections.size()) {
            error = "damaged ELF object: symbol table";
            return false;
        }
        const Elf64_Shdr& strings = o.sections[s.h.sh_link].h;
        if (strings.sh_type != SHT_STRTAB) {
            error = "damaged ELF object: symbol names";
            return false;
        }
        o.names = bytes.substr(strings.sh_offset, strings.sh_size);
        size_t n = s.h.sh_size / sizeof(Elf64_Sym);
        o.symbols.resize(n);
        for (size_t i = 0; i < n; ++i)
            o.symbols[i] = read<Elf64_Sym>(bytes, s.h.sh_offset + i * sizeof(Elf64_Sym));
        o.address.assign(n, 0);
        o.resolved.assign(n, 0);
    }
    return true;
}

size_t align_up(size_t v, size_t a) {
    return a <= 1 ? v : (v + a - 1) & ~(a - 1);
}

bool is_got_relocation(uint32_t type) {
    return type == R_X86_64_GOT32 || type == R_X86_64_GOTPCREL || type == R_X86_64_GOTPCRELX ||
           type == R_X86_64_REX_GOTPCRELX || type == R_X86_64_GOT64 ||
           type == R_X86_64_GOTPCREL64 || type == R_X86_64_GOTPLT64;
}

/// The loader's state while it links.
class Linker {
  public:
    Linker(std::vector<Object>& objects, const ObjectCode::Resolver& resolve)
        : objects_(objects), resolve_(resolve) {}

    /// Every loaded section's place, and room for the offset table and the call stubs.
    size_t layout() {
        size_t size[kRegions] = {0, 0, 0};
        size_t got_slots = 0, stubs = 0;
        for (Object& o : objects_) {
            for (Section& s : o.sections) {
                if (!(s.h.sh_flags & SHF_ALLOC) || s.h.sh_size == 0) continue;
                s.region = (s.h.sh_flags & SHF_EXECINSTR) ? kCode
                           : (s.h.sh_flags & SHF_WRITE)   ? kWritable
                                                          : kReadOnly;
                s.offset = align_up(size[s.region], s.h.sh_addralign);
                size[s.region] = s.offset + s.h.sh_size;
            }
            for_each_relocation(o, [&](const Section&, const Elf64_Rela& r) {
                const uint32_t type = ELF64_R_TYPE(r.r_info);
                if (is_got_relocation(type)) ++got_slots;
                if (type == R_X86_64_PLT32) ++stubs;
                return true;
            });
        }
        // Stubs at the end of the code, the offset table at the end of the read-only data
        // (written while linking, protected after).
        stub_offset_ = align_up(size[kCode], 16);
        size[kCode] = stub_offset_ + 16 * stubs;
        got_offset_ = align_up(size[kReadOnly], 8);
        size[kReadOnly] = got_offset_ + 8 * std::max<size_t>(got_slots, 1);
        const size_t page = size_t(::sysconf(_SC_PAGESIZE));
        size_t at = 0;
        for (int r = 0; r < kRegions; ++r) {
            region_start_[r] = at;
            region_size_[r] = align_up(size[r], page);
            at += region_size_[r];
        }
        return at;
    }

    bool link(uint8_t* base, std::unordered_map<std::string, void*>& globals, std::string& error) {
        base_ = base;
        stubs_ = base + region_start_[kCode] + stub_offset_;
        got_ = base + region_start_[kReadOnly] + got_offset_;
        for (Object& o : objects_)
            for (Section& s : o.sections) {
                if (s.region < 0) continue;
                s.addr = uintptr_t(base + region_start_[s.region] + s.offset);
                if (s.h.sh_type != SHT_NOBITS)
                    std::memcpy(reinterpret_cast<void*>(s.addr), o.bytes.data() + s.h.sh_offset,
                                s.h.sh_size);
            }
        // Definitions first, so that objects can refer to each other.
        for (Object& o : objects_) {
            for (size_t i = 1; i < o.symbols.size(); ++i) {
                const Elf64_Sym& sym = o.symbols[i];
                const unsigned bind = ELF64_ST_BIND(sym.st_info);
                if (sym.st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK)) continue;
                std::string name(name_at(o.names, sym.st_name));
                uintptr_t addr = 0;
                if (!defined(o, sym, addr, error)) return false;
                auto it = globals.find(name);
                if (it == globals.end()) {
                    globals.emplace(name, reinterpret_cast<void*>(addr));
                    if (bind == STB_WEAK) weak_.insert(name);
                } else if (weak_.count(name)) {
                    if (bind == STB_GLOBAL) { // a strong definition wins over a weak one
                        it->second = reinterpret_cast<void*>(addr);
                        weak_.erase(name);
                    }
                } else if (bind == STB_GLOBAL) {
                    error = "symbol '" + name + "' is defined twice";
                    return false;
                }
            }
        }
        globals_ = &globals;
        for (Object& o : objects_) {
            bool ok = for_each_relocation(o, [&](const Section& target, const Elf64_Rela& r) {
                return apply(o, target, r, error);
            });
            if (!ok) return false;
        }
        return true;
    }

    /// Appends each loaded function's address, size and name to `out` in the format of perf's
    /// maps of generated code (/tmp/perf-PID.map): `perf report` and `perf top` then name them.
    void write_perf_map(std::FILE* out) const {
        for (const Object& o : objects_)
            for (size_t i = 1; i < o.symbols.size(); ++i) {
                const Elf64_Sym& sym = o.symbols[i];
                if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
                    sym.st_shndx >= o.sections.size() || sym.st_size == 0)
                    continue;
                const Section& s = o.sections[sym.st_shndx];
                if (s.region < 0) continue;
                const std::string_view name = name_at(o.names, sym.st_name);
                std::fprintf(
                    out, "%lx %lx %.*s\n", static_cast<unsigned long>(s.addr + sym.st_value),
                    static_cast<unsigned long>(sym.st_size), int(name.size()), name.data());
            }
    }

    bool protect(std::string& error) {
        for (int r = 0; r < kRegions; ++r) {
            if (region_size_[r] == 0) continue;
            int prot = r == kCode       ? PROT_READ | PROT_EXEC
                       : r == kReadOnly ? PROT_READ
                                        : PROT_READ | PROT_WRITE;
            if (::mprotect(base_ + region_start_[r], region_size_[r], prot) != 0) {
                error = std::string("cannot protect native code: ") + std::strerror(errno);
                return false;
            }
        }
        return true;
    }

  private:
    template <typename F> bool for_each_relocation(Object& o, F&& f) {
        for (const Section& s : o.sections) {
            if (s.h.sh_type != SHT_RELA || s.h.sh_info >= o.sections.size()) continue;
            const Section& target = o.sections[s.h.sh_info];
            if (target.region < 0) continue; // relocates something not loaded (debug data)
            const size_t n = s.h.sh_size / sizeof(Elf64_Rela);
            for (size_t i = 0; i < n; ++i)
                if (!f(target, read<Elf64_Rela>(o.bytes, s.h.sh_offset + i * sizeof(Elf64_Rela))))
                    return false;
        }
        return true;
    }

    bool defined(const Object& o, const Elf64_Sym& sym, uintptr_t& addr, std::string& error) {
        if (sym.st_shndx == SHN_ABS) {
            addr = sym.st_value;
            return true;
        }
        if (sym.st_shndx == SHN_COMMON || sym.st_shndx >= o.sections.size()) {
            error = "ELF symbol '" + std::string(name_at(o.names, sym.st_name)) +
                    "' is in an unsupported section";
            return false;
        }
        const Section& s = o.sections[sym.st_shndx];
        addr = s.region < 0 ? 0 : s.addr + sym.st_value;
        return true;
    }

    /// The address of symbol `index` of `o`, resolved the first time a relocation needs it
    /// (an object refers to a helper from hundreds of places).
    bool symbol_address(Object& o, uint32_t index, uintptr_t& addr, std::string& error) {
        if (index >= o.symbols.size()) {
            error = "damaged ELF object: relocation names symbol " + std::to_string(index);
            return false;
        }
        if (!o.resolved[index]) {
            if (!resolve_symbol(o, index, o.address[index], error)) return false;
            o.resolved[index] = 1;
        }
        addr = o.address[index];
        return true;
    }

    bool resolve_symbol(const Object& o, uint32_t index, uintptr_t& addr, std::string& error) {
        const Elf64_Sym& sym = o.symbols[index];
        if (index == 0) {
            addr = 0;
            return true;
        }
        if (sym.st_shndx != SHN_UNDEF) return defined(o, sym, addr, error);
        std::string_view name = name_at(o.names, sym.st_name);
        if (name == "_GLOBAL_OFFSET_TABLE_") {
            addr = uintptr_t(got_);
            return true;
        }
        if (auto it = globals_->find(std::string(name)); it != globals_->end()) {
            addr = uintptr_t(it->second);
            return true;
        }
        void* p = resolve_ ? resolve_(name) : nullptr;
        if (!p && ELF64_ST_BIND(sym.st_info) != STB_WEAK) {
            error = "undefined symbol '" + std::string(name) + "'";
            return false;
        }
        addr = uintptr_t(p);
        return true;
    }

    uintptr_t got_slot(uintptr_t value) {
        auto [it, fresh] = got_index_.emplace(value, got_used_);
        if (fresh) {
            std::memcpy(got_ + 8 * got_used_, &value, 8);
            ++got_used_;
        }
        return uintptr_t(got_ + 8 * it->second);
    }

    /// A jump to `target` within reach of a 32-bit displacement from the code.
    uintptr_t stub(uintptr_t target) {
        auto [it, fresh] = stub_index_.emplace(target, stub_used_);
        uint8_t* s = stubs_ + 16 * it->second;
        if (fresh) {
            const uint8_t jump[6] = {0xff, 0x25, 0, 0, 0, 0}; // jmp *0(%rip)
            std::memcpy(s, jump, 6);
            std::memcpy(s + 6, &target, 8);
            ++stub_used_;
        }
        return uintptr_t(s);
    }

    static bool fits32(int64_t v) {
        return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
    }

    bool apply(Object& o, const Section& target, const Elf64_Rela& r, std::string& error) {
        const uint32_t type = ELF64_R_TYPE(r.r_info);
        if (type == R_X86_64_NONE) return true;
        const size_t width =
            (type == R_X86_64_64 || type == R_X86_64_PC64 || type == R_X86_64_GOTOFF64 ||
             type == R_X86_64_GOTPC64 || type == R_X86_64_GOT64 || type == R_X86_64_GOTPCREL64 ||
             type == R_X86_64_GOTPLT64)
                ? 8
                : 4;
        if (r.r_offset > target.h.sh_size || width > target.h.sh_size - r.r_offset) {
            error = "damaged ELF object: relocation outside its section";
            return false;
        }
        uintptr_t s = 0;
        if (!symbol_address(o, uint32_t(ELF64_R_SYM(r.r_info)), s, error)) return false;
        const int64_t a = r.r_addend;
        const uintptr_t p = target.addr + r.r_offset;
        const uintptr_t got = uintptr_t(got_);
        int64_t v = 0;
        switch (type) {
        case R_X86_64_64:
            v = int64_t(s + a);
            break;
        case R_X86_64_PC64:
            v = int64_t(s + a - p);
            break;
        case R_X86_64_PC32:
        case R_X86_64_PLT32:
            v = int64_t(s + a - p);
            // A call to a function out of reach goes through a jump placed near the code.
            // (There is a stub per PLT32 relocation at most: layout() counted them.)
            if (!fits32(v) && type == R_X86_64_PLT32) v = int64_t(stub(s) + a - p);
            break;
        case R_X86_64_32:
            v = int64_t(s + a);
            if (uint64_t(v) > std::numeric_limits<uint32_t>::max()) {
                error = "ELF relocation R_X86_64_32 out of range";
                return false;
            }
            break;
        case R_X86_64_32S:
            v = int64_t(s + a);
            break;
        case R_X86_64_GOTOFF64:
            v = int64_t(s + a - got);
            break;
        case R_X86_64_GOTPC32:
        case R_X86_64_GOTPC64:
            v = int64_t(got + a - p);
            break;
        case R_X86_64_GOT32:
        case R_X86_64_GOT64:
        case R_X86_64_GOTPLT64:
            v = int64_t(got_slot(s) - got + a);
            break;
        case R_X86_64_GOTPCREL:
        case R_X86_64_GOTPCRELX:
        case R_X86_64_REX_GOTPCRELX:
        case R_X86_64_GOTPCREL64:
            v = int64_t(got_slot(s) + a - p);
            break;
        default:
            error = "ELF relocation type " + std::to_string(type) + " is not supported";
            return false;
        }
        if (width == 8) {
            std::memcpy(reinterpret_cast<void*>(p), &v, 8);
            return true;
        }
        if (!fits32(v) && type != R_X86_64_32) {
            error = "ELF relocation type " + std::to_string(type) + " out of range";
            return false;
        }
        const uint32_t w = uint32_t(v);
        std::memcpy(reinterpret_cast<void*>(p), &w, 4);
        return true;
    }

    std::vector<Object>& objects_;
    const ObjectCode::Resolver& resolve_;
    std::unordered_map<std::string, void*>* globals_ = nullptr;
    std::unordered_set<std::string> weak_; // names defined weakly so far
    size_t region_start_[kRegions] = {}, region_size_[kRegions] = {};
    size_t stub_offset_ = 0, got_offset_ = 0;
    uint8_t* base_ = nullptr;
    uint8_t* stubs_ = nullptr;
    uint8_t* got_ = nullptr;
    std::unordered_map<uintptr_t, size_t> got_index_, stub_index_;
    size_t got_used_ = 0, stub_used_ = 0;
};

} // namespace

std::unique_ptr<ObjectCode> ObjectCode::load(std::span<const std::string_view> objects,
                                             const Resolver& resolve, std::string& error) {
    std::vector<Object> parsed(objects.size());
    for (size_t i = 0; i < objects.size(); ++i)
        if (!parse(objects[i], parsed[i], error)) return nullptr;
    Linker linker(parsed, resolve);
    const size_t size = linker.layout();
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        error = "cannot map " + std::to_string(size) + " bytes for native code";
        return nullptr;
    }
    std::unique_ptr<ObjectCode> code(new ObjectCode());
    code->base_ = base;
    code->size_ = size;
    if (!linker.link(static_cast<uint8_t*>(base), code->globals_, error) || !linker.protect(error))
        return nullptr;
    // MMT_PERF_MAP=1: name the generated functions for perf (or any profiler reading its maps).
    if (const char* m = std::getenv("MMT_PERF_MAP"); m && *m && *m != '0') {
        const std::string path = "/tmp/perf-" + std::to_string(::getpid()) + ".map";
        if (std::FILE* out = std::fopen(path.c_str(), "a")) {
            linker.write_perf_map(out);
            std::fclose(out);
        }
    }
    return code;
}

ObjectCode::~ObjectCode() {
    if (base_) ::munmap(base_, size_);
}

void* ObjectCode::symbol(std::string_view name) const {
    auto it = globals_.find(std::string(name));
    return it == globals_.end() ? nullptr : it->second;
}

} // namespace mmt
