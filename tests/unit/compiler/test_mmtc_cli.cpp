// The mmtc command line: every command, its help, and the exit statuses it promises
// (0 clean, 1 errors reported, 2 usage or I/O problems).
#include "packet_builder.h"
#include "pcap_writer.h"
#include "process_util.h"

#include <catch2/catch.hpp>

using namespace mmt::test;

namespace {

const std::string kMmtc = std::string(MMT_BIN_DIR) + "/mmtc";

/// A spec that checks on its own.
const char* kAlone = R"(protocol alone {
    id 960;
    over frame when linktype == 147;
    header { kind : u8; size : u16; }
    attribute kind, size;
}
)";

ProcessResult mmtc(std::vector<std::string> args) {
    args.insert(args.begin(), kMmtc);
    return runProcess(args);
}

} // namespace

TEST_CASE("mmtc: every command has its help", "[mmtc]") {
    for (const char* cmd : {"check", "dump-ast", "build", "emit-llvm", "doc"}) {
        auto r = mmtc({cmd, "--help"});
        INFO(cmd);
        CHECK(r.status == 0);
        CHECK(r.out.rfind(std::string("usage: mmtc ") + cmd, 0) == 0);
    }
    auto top = mmtc({"--help"});
    CHECK(top.status == 0);
    CHECK(top.out.find("Exit status") != std::string::npos);
}

TEST_CASE("mmtc check: 0 clean, 1 with errors, 2 for usage and I/O problems", "[mmtc]") {
    CHECK(mmtc({"check", MMT_SPEC_DIR}).status == 0);
    TempFile bad(".mmtp");
    write_file(bad.path(), to_bytes("protocol p { id 9901; header { a : u8; } attribute b; }\n"));
    auto r = mmtc({"check", bad.path()});
    CHECK(r.status == 1);
    CHECK(r.err.find(bad.path() + ":1:") != std::string::npos);
    CHECK(r.err.find("1 error generated.") != std::string::npos);
    CHECK(mmtc({"check", "/nonexistent.mmtp"}).status == 2);
    CHECK(mmtc({"check"}).status == 2);
    CHECK(mmtc({"check", "--bogus", MMT_SPEC_DIR}).status == 2);
    CHECK(mmtc({"frobnicate"}).status == 2);
    CHECK(mmtc({}).status == 2);
    auto quiet = mmtc({"check", "--quiet", bad.path()});
    CHECK(quiet.status == 1);
    CHECK(quiet.err.empty());
}

TEST_CASE("mmtc dump-ast prints the tree with positions", "[mmtc]") {
    TempFile spec(".mmtp");
    write_file(spec.path(), to_bytes(kAlone));
    auto r = mmtc({"dump-ast", spec.path()});
    CHECK(r.status == 0);
    CHECK(r.out.find("Protocol alone id=960 <1:1>") != std::string::npos);
    CHECK(r.out.find("Field size : u16 <4:25>") != std::string::npos);
}

TEST_CASE("mmtc build writes an object; emit-llvm prints IR; --time-passes reports phases",
          "[mmtc]") {
    TempFile obj(".o");
    auto b = mmtc({"build", MMT_SPEC_DIR, "-o", obj.path(), "--time-passes"});
    CHECK(b.status == 0);
    CHECK(b.err.find("optimize") != std::string::npos);
    CHECK(b.err.find("codegen") != std::string::npos);
    CHECK(mmtc({"build", MMT_SPEC_DIR}).status == 2); // no -o
    CHECK(mmtc({"build", MMT_SPEC_DIR, "-o", "/nonexistent/dir/x.o"}).status == 2);
    TempFile spec(".mmtp");
    write_file(spec.path(), to_bytes(kAlone));
    auto ir = mmtc({"emit-llvm", spec.path()});
    CHECK(ir.status == 0);
    CHECK(ir.out.find("define") != std::string::npos);
    CHECK(ir.out.find("alone.validate") != std::string::npos);
    auto o0 = mmtc({"emit-llvm", "-O0", spec.path()});
    CHECK(o0.status == 0);
    CHECK(o0.out.size() > ir.out.size() / 2);
}

TEST_CASE("mmtc check and dump-ast know the built-in library unless --no-builtin", "[mmtc]") {
    TempFile mine(".mmtp");
    write_file(mine.path(), to_bytes("protocol mine {\n    id 961;\n    over tcp port 9100;\n"
                                     "    header { a : u8; }\n    attribute a;\n}\n"));
    CHECK(mmtc({"check", mine.path()}).status == 0);
    auto alone = mmtc({"check", "--no-builtin", mine.path()});
    CHECK(alone.status == 1);
    CHECK(alone.err.find("unknown protocol 'tcp'") != std::string::npos);
    // The tree printed is that of the files given, not of the whole library.
    auto dump = mmtc({"dump-ast", mine.path()});
    CHECK(dump.status == 0);
    CHECK(dump.out.find("Protocol mine") != std::string::npos);
    CHECK(dump.out.find("Protocol udp") == std::string::npos);
    // A built-in file given by name is loaded once.
    CHECK(mmtc({"check", std::string(MMT_SPEC_DIR) + "/udp.mmtp"}).status == 0);
}

TEST_CASE("mmtc doc prints the reference of each protocol", "[mmtc]") {
    auto r = mmtc({"doc", MMT_SPEC_DIR});
    CHECK(r.status == 0);
    CHECK(r.out.find("## udp") != std::string::npos);
    CHECK(r.out.find("| `udp.src_port` | u16 |") != std::string::npos);
    CHECK(r.out.find("- ipv4 when `proto == 17`") != std::string::npos);
}
