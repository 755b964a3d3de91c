// A whole file's bytes, for the object loader's callers: mapped when it is a regular file
// (the page cache's pages, neither zeroed nor copied), read when it is not (a pipe, a FIFO).
#pragma once

#include <string>
#include <string_view>

namespace mmt {

class FileBytes {
  public:
    FileBytes() = default;
    FileBytes(const FileBytes&) = delete;
    FileBytes& operator=(const FileBytes&) = delete;
    ~FileBytes();

    /// Opens `path`; false with `error` ("cannot read 'x'...") when it cannot be read.
    bool open(const std::string& path, std::string& error);
    /// Its bytes, valid while this object lives.
    std::string_view bytes() const { return view_; }

  private:
    void* map_ = nullptr;
    std::string copy_;
    std::string_view view_;
};

} // namespace mmt
