// LibraryObject: a protocol library compiled ahead of time (`mmtc build`, the compile
// cache), loaded and ready to run without the compiler. Its container, written by the
// compiler and read here, is the magic "MMTOBJ2\n", the number of parts, then each
// part's length and bytes (all 64-bit little-endian): one relocatable object per part,
// each exporting the `mmt_library` table of its protocols as MMT_LIBRARY_SYMBOL "_part" N.
#pragma once

#include "loader/object_loader.h"
#include "mmt/abi.h"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mmt {

/// The container of `parts`.
std::vector<char> pack_objects(const std::vector<std::vector<char>>& parts);
/// The parts of a container (views into `data`); false when it is not one.
bool unpack_objects(std::string_view data, std::vector<std::string_view>& parts);

/// The symbol of part `part`'s table.
std::string part_symbol(unsigned part);

/// The symbol of the host identity a library records (part 0) and loading checks.
inline constexpr const char* kHostIdSymbol = "mmt_host_id";
/// What of this machine code generated for it may depend on: its architecture, CPU
/// vendor, model and instruction set extensions (a digest of them, as text).
const std::string& host_id();

/// The folder of the built-in protocol specs: $MMT_SPEC_PATH, else next to the program
/// (PREFIX/share/mmt-journey/protocols for PREFIX/bin/TOOL), else the source tree's or the
/// installed one.
std::string builtin_spec_dir();
/// The name of an MMT_T_* value type ("uint", "string"...); "none" for any other.
const char* value_type_name(uint32_t type);

/// The functions generated code calls (the mmt_rt_* helpers and the C library's few),
/// by name: what a library's objects are linked against.
void* host_symbol(std::string_view name);
/// How many names host_symbol knows.
size_t host_symbol_count();
/// The AddressSanitizer runtime's entry point `name` (`__asan_*`), which code built by a
/// compiler with AddressSanitizer calls and a program built so has loaded; else null.
void* sanitizer_symbol(std::string_view name);

/// Joins the tables of a library's parts, found through `lookup`, into one (protocols in
/// id order). False, with `error`, when a table is missing or of another ABI.
bool join_parts(const std::function<void*(const std::string&)>& lookup, size_t parts,
                std::vector<mmt_proto>& protos, std::vector<mmt_service>& services,
                std::string& error);

class LibraryObject {
  public:
    /// Links a container for this machine against the host functions and, for names they
    /// do not have, `extra` (may be empty). Returns nullptr with a one-line `error` when
    /// the bytes are not a library, were built for another machine or ABI, or do not link.
    static std::unique_ptr<LibraryObject>
    load(std::string_view data, const ObjectCode::Resolver& extra, std::string& error);
    const mmt_library* table() const { return &table_; }
    void* symbol(std::string_view name) const { return code_->symbol(name); }
    size_t parts() const { return parts_; }

  private:
    LibraryObject() = default;
    std::unique_ptr<ObjectCode> code_;
    std::vector<mmt_proto> protos_;
    std::vector<mmt_service> services_;
    mmt_library table_{};
    size_t parts_ = 0;
};

} // namespace mmt
