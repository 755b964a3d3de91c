// The driver: reads spec files, parses each, then runs the checker over all of them.
#include "driver/compiler_impl.h"

#include "ast/dump.h"
#include "parse/parser.h"
#include "support/big_stack.h"

#include "loader/library_object.h"
#include "loader/spec_cache.h"
#include "mmt/abi.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace mmtc {

namespace fs = std::filesystem;

std::string builtinSpecDir() {
    return mmt::builtin_spec_dir();
}

const char* valueTypeName(uint32_t type) {
    return mmt::value_type_name(type);
}

Compiler::Compiler() : impl_(std::make_unique<Impl>()) {}
Compiler::~Compiler() = default;

const std::string& Compiler::ioError() const {
    return impl_->ioError;
}

bool Compiler::addPath(const std::string& path) {
    // The same files, read the same way, as the cache's readers see them (cache_key()).
    std::vector<std::string> files;
    if (!mmt::spec_files(path, files, impl_->ioError)) return false;
    for (const auto& f : files) {
        std::string text;
        if (!mmt::read_spec(f, text, impl_->ioError)) return false;
        addSource(f, std::move(text));
    }
    return true;
}

void Compiler::addSource(const std::string& name, std::string text) {
    impl_->sm.add(name, std::move(text));
}

namespace {

void checkFiles(Compiler::Impl& m) {
    auto t0 = std::chrono::steady_clock::now();
    // Files parse apart, on two threads (each on a big stack), each file reporting into
    // its own diagnostics, joined in file order afterwards.
    const uint32_t n = uint32_t(m.sm.size());
    std::vector<std::unique_ptr<ast::File>> files(n);
    std::vector<std::unique_ptr<DiagEngine>> diags(n);
    std::atomic<uint32_t> next{0};
    auto work = [&] {
        for (uint32_t i; (i = next.fetch_add(1)) < n;) {
            diags[i] = std::make_unique<DiagEngine>(m.sm);
            files[i] = parseFile(m.sm, i + 1, *diags[i]);
        }
    };
    if (n > 1) {
        std::thread helper([&] { support::runOnBigStack(work); });
        work();
        helper.join();
    } else {
        work();
    }
    bool syntaxOk = true;
    for (uint32_t i = 0; i < n; ++i) {
        m.diags.append(*diags[i]);
        // Null only after syntax errors; a tree with errors found while building it (an
        // item given twice, a bad escape) is still checked, so independent errors show too.
        if (!files[i]) {
            syntaxOk = false;
            continue;
        }
        m.module.files.push_back(std::move(files[i]));
    }
    auto t1 = std::chrono::steady_clock::now();
    m.timings.parseMs = std::chrono::duration<double, std::milli>(t1 - t0).count();
    // A file that does not parse would only produce follow-on errors in the others.
    if (!syntaxOk) {
        m.ok = false;
        return;
    }
    m.sema = std::make_unique<sema::SemaContext>(m.module, m.diags);
    m.ok = sema::check(*m.sema);
    m.timings.checkMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
}

} // namespace

bool Compiler::check() {
    Impl& m = *impl_;
    if (m.checked) return m.ok;
    m.checked = true;
    // Parsing and checking recurse once per level of nesting: on a stack sized for it.
    support::runOnBigStack([&m] { checkFiles(m); });
    return m.ok;
}

unsigned Compiler::errorCount() const {
    return impl_->diags.errorCount();
}
std::string Compiler::diagnostics() const {
    return impl_->diags.render();
}
std::string Compiler::dumpAst(size_t files) const {
    return ast::dump(impl_->module, impl_->sm, files);
}

} // namespace mmtc
