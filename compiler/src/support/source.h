// Source files and positions: every AST node points back at the text it came from.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mmtc {

/// A position in a source file. Lines and columns are 1-based, columns count bytes.
struct SourceLoc {
    uint32_t offset = 0;
    uint32_t line = 0;
    uint32_t col = 0;
};

/// A half-open span of text [begin, end) in one file. file == 0 means "no location".
struct SourceRange {
    uint32_t file = 0;
    SourceLoc begin;
    SourceLoc end;
    bool valid() const { return file != 0; }
};

/// One loaded source file with a line index.
class SourceFile {
  public:
    SourceFile(std::string path, std::string text);
    const std::string& path() const { return path_; }
    const std::string& text() const { return text_; }
    /// The text of 1-based line `line`, without its newline.
    std::string_view lineText(uint32_t line) const;
    SourceLoc locAt(uint32_t offset) const;

  private:
    std::string path_;
    std::string text_;
    std::vector<uint32_t> lineStarts_;
};

/// Owns every file of a compilation; file ids start at 1.
class SourceManager {
  public:
    uint32_t add(std::string path, std::string text);
    const SourceFile& file(uint32_t id) const { return *files_.at(id - 1); }
    size_t size() const { return files_.size(); }

  private:
    std::vector<std::unique_ptr<SourceFile>> files_;
};

} // namespace mmtc
