// ObjectCode: native code loaded from relocatable ELF objects (x86-64), the form in which
// the compiler emits a protocol library. The loader lays the objects' sections out in one
// mapping, resolves their symbols (each other's, then through a caller-given resolver),
// applies their relocations and makes the code executable: what a static linker and
// dlopen do together, for the few kinds of object the code generator produces. It needs
// neither LLVM nor a system linker, so a program that only runs protocol libraries links
// only the runtime.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mmt {

class ObjectCode {
  public:
    /// The address of an external symbol, or nullptr when there is none.
    using Resolver = std::function<void*(std::string_view name)>;

    /// Loads `objects` (each a whole ELF relocatable file) together: a symbol one of them
    /// defines resolves references from the others. Returns nullptr, with a one-line
    /// reason in `error`, when an object is malformed or for another machine, or when it
    /// uses a symbol or a relocation the loader cannot resolve.
    static std::unique_ptr<ObjectCode> load(std::span<const std::string_view> objects,
                                            const Resolver& resolve, std::string& error);
    ~ObjectCode();
    ObjectCode(const ObjectCode&) = delete;
    ObjectCode& operator=(const ObjectCode&) = delete;

    /// The address of a global symbol the objects define; nullptr when none does.
    void* symbol(std::string_view name) const;
    /// Bytes mapped for code, data and the offset table.
    size_t mapped_bytes() const { return size_; }

  private:
    ObjectCode() = default;
    void* base_ = nullptr;
    size_t size_ = 0;
    std::unordered_map<std::string, void*> globals_;
};

} // namespace mmt
