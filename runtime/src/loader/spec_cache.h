// The compile cache, as both its writer (the compiler) and its readers (mmtrun without
// the compiler) see it: which files a spec path names, where the cache lives, and the
// key of a set of specs. A key depends on the compiler's identity, this machine
// (host_id()) and the specs' bytes, never on parsing them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mmt {

/// The cache folder: $MMT_CACHE_DIR, else $XDG_CACHE_HOME/mmt-journey, else
/// ~/.cache/mmt-journey, else /tmp/mmt-journey-cache.
std::string default_cache_dir();

/// The spec files `path` names: itself when it is a file, else every .mmtp file below it,
/// sorted. False with `error` ("cannot read 'x': ...", "no .mmtp files found in 'x'").
bool spec_files(const std::string& path, std::vector<std::string>& files, std::string& error);

/// A file's bytes; false with `error` when it cannot be read.
bool read_spec(const std::string& path, std::string& text, std::string& error);

/// The cache key (16 hex digits) of specs whose texts are `texts`, in order, compiled by
/// the compiler `compiler_identity` names (its version, its LLVM's and a hash of its
/// sources: `mmt_compiler_identity()` of the build) for this machine.
std::string cache_key(std::string_view compiler_identity, const std::vector<std::string>& texts);

/// The cached object of `key` in `cache_dir`.
std::string cache_entry(const std::string& cache_dir, const std::string& key);

/// How many entries the cache keeps: $MMT_CACHE_ENTRIES, else 64.
size_t cache_capacity();
/// Marks an entry as just used: pruning keeps the most recently used.
void touch_cache_entry(const std::string& entry);
/// Removes the least recently used entries of `cache_dir` beyond cache_capacity(). Errors
/// are ignored: a cache that cannot be pruned only costs disk space.
void prune_cache(const std::string& cache_dir);

} // namespace mmt
