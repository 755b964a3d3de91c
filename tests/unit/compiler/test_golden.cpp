// Golden tests of diagnostics: every tests/mmtc/invalid/<feature>.mmtp (and every
// tests/mmtc/warnings/<feature>.mmtp) goes through the mmtc binary, and what it prints
// to stderr must equal <feature>.expected, byte for byte; invalid specs exit with 1,
// specs with warnings only with 0. MMT_UPDATE_GOLDEN=1 rewrites the .expected files
// from the current output instead.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

// Relative to MMT_SOURCE_DIR.
const char* const kInvalidDir = "tests/mmtc/invalid";
const char* const kWarningsDir = "tests/mmtc/warnings";
constexpr size_t kMinGoldenTests = 45;

struct Run {
    int status = -1;
    std::string err;
};

/// Runs `mmtc check <relPath>` from the source directory, so that the paths in the
/// diagnostics are relative and the expectations do not depend on the machine.
Run runMmtc(const std::string& relPath) {
    std::string cmd = std::string("cd '") + MMT_SOURCE_DIR + "' && '" + MMT_BIN_DIR +
                      "/mmtc' check --no-builtin '" + relPath + "' 2>&1 >/dev/null";
    Run r;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.err.append(buf, n);
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

std::string readFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> splitLines(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == '\n') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

/// A line diff (longest common subsequence; the files are small): ' ' kept, '-' only
/// expected, '+' only actual.
std::string lineDiff(const std::string& expected, const std::string& actual) {
    auto a = splitLines(expected), b = splitLines(actual);
    std::vector<std::vector<unsigned>> lcs(a.size() + 1, std::vector<unsigned>(b.size() + 1, 0));
    for (size_t i = a.size(); i-- > 0;)
        for (size_t j = b.size(); j-- > 0;)
            lcs[i][j] =
                a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    std::string out = "--- expected\n+++ actual\n";
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        if (i < a.size() && j < b.size() && a[i] == b[j]) {
            out += "  " + a[i++] + "\n";
            ++j;
        } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
            out += "- " + a[i++] + "\n";
        } else {
            out += "+ " + b[j++] + "\n";
        }
    }
    return out;
}

std::vector<fs::path> goldenSpecs(const char* dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(fs::path(MMT_SOURCE_DIR) / dir))
        if (e.path().extension() == ".mmtp") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

/// Checks every spec of `dir` against its expectation; returns how many there were.
size_t checkGoldenDir(const char* dir, int status) {
    const char* env = std::getenv("MMT_UPDATE_GOLDEN");
    const bool update = env && std::string(env) == "1";
    auto specs = goldenSpecs(dir);
    for (const auto& spec : specs) {
        std::string rel = std::string(dir) + "/" + spec.filename().string();
        fs::path expectedPath = spec;
        expectedPath.replace_extension(".expected");
        INFO(rel);

        // The first line says what the file checks.
        std::string text = readFile(spec);
        if (text.rfind("\xef\xbb\xbf", 0) == 0) text.erase(0, 3); // byte_order_mark.mmtp
        CHECK(text.rfind("// ", 0) == 0);

        Run r = runMmtc(rel);
        CHECK(r.status == status);
        CHECK(r.err.find(status ? ": error: " : ": warning: ") != std::string::npos);
        if (update) {
            std::ofstream(expectedPath, std::ios::binary) << r.err;
            continue;
        }
        REQUIRE(fs::exists(expectedPath));
        std::string expected = readFile(expectedPath);
        if (expected != r.err)
            FAIL_CHECK("diagnostics differ from " << expectedPath.filename().string()
                                                  << " (MMT_UPDATE_GOLDEN=1 rewrites it)\n"
                                                  << lineDiff(expected, r.err));
    }
    return specs.size();
}

} // namespace

TEST_CASE("every invalid spec prints exactly its expected diagnostics", "[golden]") {
    CHECK(checkGoldenDir(kInvalidDir, 1) >= kMinGoldenTests);
}

TEST_CASE("specs with warnings only print them and succeed", "[golden]") {
    CHECK(checkGoldenDir(kWarningsDir, 0) >= 1);
}

TEST_CASE("every expectation belongs to a spec", "[golden]") {
    for (const char* dir : {kInvalidDir, kWarningsDir}) {
        for (const auto& e : fs::directory_iterator(fs::path(MMT_SOURCE_DIR) / dir)) {
            if (e.path().extension() != ".expected") continue;
            fs::path spec = e.path();
            spec.replace_extension(".mmtp");
            INFO(e.path().filename().string());
            CHECK(fs::exists(spec));
        }
    }
}

TEST_CASE("the line diff shows what changed", "[golden]") {
    std::string d = lineDiff("a\nb\nc\n", "a\nx\nc\n");
    CHECK(d == "--- expected\n+++ actual\n  a\n- b\n+ x\n  c\n");
}
