// ProtocolLibrary::load: compiles specs through libmmtc's public API (or takes them from
// the compile cache), or loads an object built ahead of time. The only part of the
// journey that needs the compiler.
#include "journey/library_impl.h"

#include "mmtc/compiler.h"

#include <fmt/format.h>

namespace mmt {

std::unique_ptr<ProtocolLibrary> ProtocolLibrary::load(const LoadOptions& options,
                                                       std::string& error) {
    if (!options.object.empty()) return load_object(options.object, error);
    // A cache hit needs no compiler: the key is the specs' bytes.
    std::string miss;
    if (options.use_cache)
        if (auto hit = load_cached(options, miss)) return hit;
    auto impl = std::make_unique<Impl>();
    std::unique_ptr<mmtc::Library> code;
    {
        mmtc::Compiler c;
        std::vector<std::string> paths;
        if (options.builtin) paths.push_back(mmtc::builtinSpecDir());
        for (const auto& p : options.spec_paths) paths.push_back(p);
        if (paths.empty()) {
            error = "no protocol specs to load";
            return nullptr;
        }
        for (const auto& p : paths) {
            if (!c.addPath(p)) {
                error = c.ioError();
                return nullptr;
            }
        }
        if (!c.check()) {
            error = fmt::format("the protocol specs have {} error{}:\n{}", c.errorCount(),
                                c.errorCount() == 1 ? "" : "s", c.diagnostics());
            return nullptr;
        }
        const std::string cache_dir =
            options.cache_dir.empty() ? mmtc::defaultCacheDir() : options.cache_dir;
        code = options.lazy        ? c.compileLazily(error)
               : options.use_cache ? c.compileCached(cache_dir, error)
                                   : c.compile(error);
        if (!code) return nullptr;
        impl->origin = code->origin() == mmtc::Library::Origin::Cache  ? "cache"
                       : code->origin() == mmtc::Library::Origin::Lazy ? "lazy"
                                                                       : "compiled";
    }
    impl->table = code->table();
    impl->code = std::shared_ptr<const mmtc::Library>(std::move(code));
    if (!impl->finish(error)) return nullptr;
    return std::unique_ptr<ProtocolLibrary>(new ProtocolLibrary(std::move(impl)));
}

} // namespace mmt
