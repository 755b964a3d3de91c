// The driver's code generation side: compile, cache, objects, IR and timings.
#include "driver/compiler_impl.h"

#include "loader/file_bytes.h"
#include "loader/spec_cache.h"
#include "mmtc/stamp.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <llvm/Config/llvm-config.h>
#include <sys/file.h>
#include <unistd.h>

namespace mmtc {

namespace fs = std::filesystem;

std::string versionText() {
    return std::string(MMT_VERSION) + " (LLVM " LLVM_VERSION_STRING ", ABI " +
           std::to_string(MMT_ABI_VERSION) + ", compiler " +
           std::string(codegen::sourceStamp()).substr(0, 16) + ")";
}

Library::Library(std::unique_ptr<Impl> impl, Origin origin)
    : impl_(std::move(impl)), origin_(origin) {}
Library::~Library() = default;
const mmt_library* Library::table() const {
    return impl_->native->table();
}
unsigned Library::protocolsCompiled() const {
    return impl_->native->compiledProtocols();
}

namespace {

bool readAll(const std::string& path, std::vector<char>& out, std::string& error) {
    mmt::FileBytes file;
    if (!file.open(path, error)) return false;
    out.assign(file.bytes().begin(), file.bytes().end());
    return true;
}

bool writeAll(const std::string& path, const std::vector<char>& data, std::string& error) {
    // Write then rename: a concurrent reader never sees half an object.
    std::string tmp = path + ".tmp" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) {
            error = "cannot write '" + path + "'";
            return false;
        }
        out.write(data.data(), std::streamsize(data.size()));
        if (!out) {
            error = "cannot write '" + path + "'";
            return false;
        }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        error = "cannot write '" + path + "': " + ec.message();
        fs::remove(tmp, ec);
        return false;
    }
    return true;
}

std::unique_ptr<Library> wrap(std::unique_ptr<codegen::NativeLibrary> native,
                              Library::Origin origin) {
    if (!native) return nullptr;
    auto impl = std::make_unique<Library::Impl>();
    impl->native = std::move(native);
    return std::make_unique<Library>(std::move(impl), origin);
}

} // namespace

std::string defaultCacheDir() {
    return mmt::default_cache_dir();
}

std::unique_ptr<Library> loadObject(const std::string& path, std::string& error) {
    std::vector<char> obj;
    if (!readAll(path, obj, error)) return nullptr;
    auto native = codegen::NativeLibrary::fromObject(obj, error);
    if (!native) error = "'" + path + "': " + error;
    return wrap(std::move(native), Library::Origin::Object);
}

std::string Compiler::cacheKey() const {
    // mmtrun computes the same key without the compiler (mmt::cache_key).
    std::string identity = mmt_compiler_identity();
    if (codegen::coverageOn()) identity += "; coverage";
    std::vector<std::string> texts;
    for (uint32_t id = 1; id <= impl_->sm.size(); ++id)
        texts.emplace_back(impl_->sm.file(id).text());
    return mmt::cache_key(identity, texts);
}

static bool needChecked(Compiler::Impl& m, std::string& error) {
    if (m.checked && m.ok && m.sema) return true;
    error = "the specs have not been checked successfully";
    return false;
}

namespace {

/// A fresh object linked by ORC, the time it took in `m`'s timings.
std::unique_ptr<Library> linkCompiled(Compiler::Impl& m, const std::vector<char>& obj,
                                      std::string& error) {
    codegen::Stopwatch t0;
    auto lib =
        wrap(codegen::NativeLibrary::fromObject(obj, error, codegen::NativeLibrary::Linker::Orc),
             Library::Origin::Compiled);
    m.timings.linkMs = t0.wallMs();
    m.timings.cpuLinkMs = t0.cpuMs();
    return lib;
}

/// Reads the cache entry `path` into `obj`: true when it is there and this machine loads
/// it (a damaged or foreign entry counts as none).
bool readLoadable(const std::string& path, std::vector<char>& obj) {
    std::string ignored;
    return fs::exists(path) && readAll(path, obj, ignored) &&
           codegen::NativeLibrary::fromObject(obj, ignored);
}

/// Stores `obj` as the cache entry `path` of `cacheDir`, then prunes the cache. A cache
/// that cannot be written only costs time: errors are ignored.
void storeEntry(const std::string& cacheDir, const std::string& path,
                const std::vector<char>& obj) {
    std::error_code ec;
    fs::create_directories(cacheDir, ec);
    std::string ignored;
    if (!ec && writeAll(path, obj, ignored)) mmt::prune_cache(cacheDir);
}

} // namespace

std::unique_ptr<Library> Compiler::compile(std::string& error) {
    Impl& m = *impl_;
    if (!needChecked(m, error)) return nullptr;
    std::vector<char> obj;
    if (!codegen::buildObject(*m.sema, obj, nullptr, true, m.timings, error)) return nullptr;
    return linkCompiled(m, obj, error);
}

std::unique_ptr<Library> Compiler::compileLazily(std::string& error) {
    if (!needChecked(*impl_, error)) return nullptr;
    // Coverage counters are registered per object, once: a fuzzing build compiles all.
    if (codegen::coverageOn()) return compile(error);
    // The library compiles protocols from the checked specs as packets reach them: it
    // takes them, and this compiler starts over empty (its timings kept).
    std::shared_ptr<Impl> owner(std::move(impl_));
    impl_ = std::make_unique<Impl>();
    impl_->timings = owner->timings;
    const sema::SemaContext& sema = *owner->sema;
    return wrap(codegen::NativeLibrary::lazy(sema, std::move(owner), impl_->timings, error),
                Library::Origin::Lazy);
}

std::unique_ptr<Library> Compiler::loadCached(const std::string& cacheDir) {
    return loadEntry(mmt::cache_entry(cacheDir, cacheKey()));
}

std::unique_ptr<Library> Compiler::loadEntry(const std::string& path) {
    Impl& m = *impl_;
    std::vector<char> obj;
    std::string ignored;
    if (!fs::exists(path) || !readAll(path, obj, ignored)) return nullptr;
    codegen::Stopwatch t0;
    auto native = codegen::NativeLibrary::fromObject(obj, ignored);
    m.timings.linkMs = t0.wallMs();
    m.timings.cpuLinkMs = t0.cpuMs();
    // A damaged or foreign entry counts as none: compileCached() rebuilds it.
    if (native) mmt::touch_cache_entry(path);
    return wrap(std::move(native), Library::Origin::Cache);
}

std::unique_ptr<Library> Compiler::compileCached(const std::string& cacheDir, std::string& error) {
    Impl& m = *impl_;
    const std::string path = mmt::cache_entry(cacheDir, cacheKey());
    if (auto hit = loadEntry(path)) return hit;
    std::vector<char> obj;
    if (!needChecked(m, error)) return nullptr;
    if (!codegen::buildObject(*m.sema, obj, nullptr, true, m.timings, error)) return nullptr;
    storeEntry(cacheDir, path, obj);
    return linkCompiled(m, obj, error);
}

bool Compiler::fillCache(const std::string& cacheDir, std::string& error) {
    Impl& m = *impl_;
    if (!needChecked(m, error)) return false;
    // A cache removed since (a test's, say) is not made again.
    std::error_code ec;
    if (!fs::is_directory(cacheDir, ec)) return true;
    // One filler at a time: another one is at work, or has just done it.
    const std::string lockPath = (fs::path(cacheDir) / ".filling").string();
    int fd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return true;
    bool ok = true;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        const std::string path = mmt::cache_entry(cacheDir, cacheKey());
        std::vector<char> obj;
        if (!readLoadable(path, obj)) {
            ok = codegen::buildObject(*m.sema, obj, nullptr, true, m.timings, error);
            if (ok && fs::is_directory(cacheDir, ec)) storeEntry(cacheDir, path, obj);
        }
    }
    ::close(fd);
    return ok;
}

bool Compiler::writeObject(const std::string& path, std::string& error,
                           const std::string& cacheDir) {
    Impl& m = *impl_;
    if (!needChecked(m, error)) return false;
    std::vector<char> obj;
    std::string cached = cacheDir.empty() ? "" : mmt::cache_entry(cacheDir, cacheKey());
    // The cached object, when it is one this machine loads (a damaged entry is rebuilt).
    if (!cached.empty() && readLoadable(cached, obj)) return writeAll(path, obj, error);
    if (!codegen::buildObject(*m.sema, obj, nullptr, true, m.timings, error)) return false;
    if (!cached.empty()) storeEntry(cacheDir, cached, obj);
    return writeAll(path, obj, error);
}

bool Compiler::emitLLVM(bool optimized, std::string& ir, std::string& error) {
    Impl& m = *impl_;
    if (!needChecked(m, error)) return false;
    std::vector<char> obj;
    return codegen::buildObject(*m.sema, obj, &ir, optimized, m.timings, error);
}

PhaseTimes Compiler::phaseTimes(bool cpu) const {
    const codegen::Timings& t = impl_->timings;
    PhaseTimes p;
    p.parse = cpu ? 0 : t.parseMs;
    p.check = cpu ? 0 : t.checkMs;
    p.lower = cpu ? t.cpuLowerMs : t.lowerMs;
    p.optimize = cpu ? t.cpuOptimizeMs : t.optimizeMs;
    p.codegen = cpu ? t.cpuCodegenMs : t.codegenMs;
    p.link = cpu ? t.cpuLinkMs : t.linkMs;
    return p;
}

std::string Compiler::timings() const {
    const codegen::Timings& t = impl_->timings;
    std::ostringstream os;
    os.setf(std::ios::fixed);
    os.precision(2);
    os << "parse     " << t.parseMs << " ms\n"
       << "check     " << t.checkMs << " ms\n"
       << "lower     " << t.lowerMs << " ms\n"
       << "optimize  " << t.optimizeMs << " ms\n"
       << "codegen   " << t.codegenMs << " ms\n"
       << "link      " << t.linkMs << " ms\n"
       << "total     " << t.parseMs + t.checkMs + t.lowerMs + t.optimizeMs + t.codegenMs + t.linkMs
       << " ms\n";
    return os.str();
}

} // namespace mmtc
