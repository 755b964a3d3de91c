// compile_bench: how long the built-in protocol library takes to check, to compile cold
// (parse + check + lower + O1 + codegen + load), to start cold with lazy compilation (the
// table now, each protocol when first called) and to load from the object cache.
//
// Each measurement runs N times (default 11) in this process and reports the median, the
// minimum and the first run (which also pays LLVM's one-time start-up), in wall-clock and
// thread CPU milliseconds: CPU time is the steadier number on a busy machine.
#include "mmt/abi.h"
#include "mmtc/compiler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <time.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

// A cold start (lazy, with the first DNS packet's protocols compiled) in < 500 ms, and a
// start from the cache in < 30 ms.
constexpr double kColdBudgetMs = 500;
constexpr double kWarmBudgetMs = 30;

struct Clock {
    std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
    double cpu = cpuNow();
    static double cpuNow() {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
    }
    double wallMs() const {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall)
            .count();
    }
    double cpuMs() const { return cpuNow() - cpu; }
};

/// Samples of one measurement.
struct Series {
    std::vector<double> v;
    void add(double x) { v.push_back(x); }
    double median() const {
        std::vector<double> s = v;
        std::sort(s.begin(), s.end());
        size_t n = s.size();
        return n == 0 ? 0 : n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
    double min() const { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }
    double first() const { return v.empty() ? 0 : v.front(); }
};

void row(const char* name, const Series& wall, const Series& cpu) {
    std::printf("  %-22s %9.2f %9.2f %9.2f %11.2f\n", name, wall.median(), wall.min(), wall.first(),
                cpu.median());
}

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "compile_bench: %s\n", msg.c_str());
    std::exit(2);
}

std::unique_ptr<mmtc::Compiler> loaded(const std::string& specs) {
    auto c = std::make_unique<mmtc::Compiler>();
    if (!c->addPath(specs)) die(c->ioError());
    return c;
}

/// Calls validate of frame, ethernet, ipv4, udp and dns on a DNS query (compiling them,
/// in a library compiled lazily); the wall time it took, in ms.
double firstCalls(const mmtc::Library& lib) {
    static const uint8_t query[] = {
        // Ethernet, IPv4, UDP 53, DNS query for example.com
        0, 1,   2,   3,   4,   5,   0,    1,    2,  3,   4,   6,   0x08, 0x00, 0x45, 0, 0,    57,
        0, 1,   0,   0,   64,  17,  0,    0,    10, 0,   0,   1,   10,   0,    0,    2, 0x30, 0x39,
        0, 53,  0,   37,  0,   0,   0x12, 0x34, 1,  0,   0,   1,   0,    0,    0,    0, 0,    0,
        7, 'e', 'x', 'a', 'm', 'p', 'l',  'e',  3,  'c', 'o', 'm', 0,    0,    1,    0, 1};
    Clock t;
    const mmt_library* table = lib.table();
    const uint32_t offsets[] = {0, 0, 14, 34, 42};
    const char* names[] = {"frame", "ethernet", "ipv4", "udp", "dns"};
    uint8_t scratch[4096];
    for (size_t k = 0; k < 5; ++k)
        for (uint32_t i = 0; i < table->n_protos; ++i) {
            const mmt_proto& p = table->protos[i];
            if (std::strcmp(p.name, names[k]) != 0 || !p.validate) continue;
            mmt_scratch mem{scratch, sizeof scratch, 0};
            mmt_ctx c{};
            c.data = query + offsets[k];
            c.len = uint32_t(sizeof query - offsets[k]);
            c.scratch = &mem;
            mmt_parse_result r{};
            p.validate(&c, &r);
        }
    return t.wallMs();
}

} // namespace

int main(int argc, char** argv) {
    int runs = 11;
    bool enforce = false;
    std::string specs = mmtc::builtinSpecDir();
    const std::string self = fs::canonical("/proc/self/exe").string();
    if (argc == 4 && std::string(argv[1]) == "--load-once") {
        // Child of the fresh-process measurement: one cache load, its wall time on stdout.
        Clock t;
        auto c = loaded(argv[3]);
        std::string error;
        auto lib = c->compileCached(argv[2], error);
        if (!lib || lib->origin() != mmtc::Library::Origin::Cache)
            die("the cache was not used: " + error);
        std::printf("%.3f\n", t.wallMs());
        return 0;
    }
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc) {
            runs = std::max(1, std::atoi(argv[++i]));
        } else if (a == "--check") {
            enforce = true;
        } else if (a == "--help" || a == "-h") {
            std::printf(
                "usage: compile_bench [--runs N] [--check] [SPEC-PATH]\n\n"
                "Times checking, cold compilation and cache loads of a protocol library\n"
                "(default: the built-in one). --check exits 1 when a median is over budget\n"
                "(cold start, lazy, with a first packet < %.0f ms; cache < %.0f ms).\n",
                kColdBudgetMs, kWarmBudgetMs);
            return 0;
        } else if (!a.empty() && a[0] == '-') {
            die("unknown option '" + a + "'");
        } else {
            specs = a;
        }
    }

    // Check only: parse and check.
    Series checkWall, checkCpu;
    for (int i = 0; i < runs; ++i) {
        auto c = loaded(specs);
        Clock t;
        if (!c->check()) die("the specs do not check:\n" + c->diagnostics());
        checkWall.add(t.wallMs());
        checkCpu.add(t.cpuMs());
    }

    // Cold: everything from spec text to a loaded library.
    Series coldWall, coldCpu, parse, check, lower, optimize, codegen, link;
    Series cLower, cOptimize, cCodegen, cLink;
    unsigned protos = 0;
    for (int i = 0; i < runs; ++i) {
        auto c = loaded(specs);
        std::string error;
        Clock t;
        if (!c->check()) die("the specs do not check");
        auto lib = c->compile(error);
        if (!lib) die(error);
        coldWall.add(t.wallMs());
        coldCpu.add(t.cpuMs());
        protos = lib->table()->n_protos;
        mmtc::PhaseTimes p = c->phaseTimes();
        parse.add(p.parse);
        check.add(p.check);
        lower.add(p.lower);
        optimize.add(p.optimize);
        codegen.add(p.codegen);
        link.add(p.link);
        mmtc::PhaseTimes q = c->phaseTimes(/*cpu=*/true);
        cLower.add(q.lower);
        cOptimize.add(q.optimize);
        cCodegen.add(q.codegen);
        cLink.add(q.link);
    }

    // Cold and lazy: from spec text to a library whose protocols compile when first
    // called (mmtrun on a cache miss); then the first calls of the protocols a DNS packet
    // over UDP reaches.
    Series lazyWall, lazyCpu, lazyLower, lazyCodegen, lazyLink, firstWall;
    for (int i = 0; i < runs; ++i) {
        auto c = loaded(specs);
        std::string error;
        Clock t;
        if (!c->check()) die("the specs do not check");
        auto lib = c->compileLazily(error);
        if (!lib) die(error);
        lazyWall.add(t.wallMs());
        lazyCpu.add(t.cpuMs());
        mmtc::PhaseTimes p = c->phaseTimes();
        lazyLower.add(p.lower);
        lazyCodegen.add(p.codegen);
        lazyLink.add(p.link);
        firstWall.add(firstCalls(*lib));
    }

    // Warm: the object comes from a populated cache directory.
    std::string dir =
        (fs::temp_directory_path() / ("mmt-compile-bench-" + std::to_string(::getpid()))).string();
    {
        auto c = loaded(specs);
        std::string error;
        if (!c->check() || !c->compileCached(dir, error))
            die("cannot populate the cache: " + error);
    }
    Series warmWall, warmCpu, warmLink, cWarmLink;
    for (int i = 0; i < runs; ++i) {
        Clock t;
        auto c = loaded(specs);
        std::string error;
        auto lib = c->compileCached(dir, error);
        if (!lib) die(error);
        if (lib->origin() != mmtc::Library::Origin::Cache) die("the cache was not used");
        warmWall.add(t.wallMs());
        warmCpu.add(t.cpuMs());
        warmLink.add(c->phaseTimes().link);
        cWarmLink.add(c->phaseTimes(true).link);
    }
    // The same in a fresh process each time, as a program starting up pays it: libLLVM's
    // pages, the target's initialisation.
    Series freshWall;
    for (int i = 0; i < runs; ++i) {
        std::string cmd = "'" + self + "' --load-once '" + dir + "' '" + specs + "'";
        FILE* p = popen(cmd.c_str(), "r");
        double ms = -1;
        if (!p || std::fscanf(p, "%lf", &ms) != 1) die("cannot run " + cmd);
        pclose(p);
        freshWall.add(ms);
    }
    std::error_code ec;
    fs::remove_all(dir, ec);

    std::printf("compile_bench: %s, %u protocols (frame included), %d runs\n\n", specs.c_str(),
                protos, runs);
    std::printf("  %-22s %9s %9s %9s %11s\n", "ms", "median", "min", "first", "cpu median");
    row("check (parse+check)", checkWall, checkCpu);
    row("cold JIT compile", coldWall, coldCpu);
    Series none;
    row("  parse", parse, none);
    row("  check", check, none);
    row("  lower", lower, cLower);
    row("  optimize (O1)", optimize, cOptimize);
    row("  codegen", codegen, cCodegen);
    row("  link (ORC)", link, cLink);
    row("lazy start", lazyWall, lazyCpu);
    row("  lower (table)", lazyLower, none);
    row("  codegen (table)", lazyCodegen, none);
    row("  link (ORC, stubs)", lazyLink, none);
    row("  first DNS packet's", firstWall, none);
    row("warm start (cache)", warmWall, warmCpu);
    row("  link (ORC)", warmLink, cWarmLink);
    row("  in a fresh process", freshWall, none);
    const double coldStart = lazyWall.median() + firstWall.median();
    std::printf(
        "\n  budget: cold start (lazy + first packet: %.0f ms) < %.0f ms (%s), cache < %.0f "
        "ms (%s)\n",
        coldStart, kColdBudgetMs, coldStart < kColdBudgetMs ? "met" : "NOT met", kWarmBudgetMs,
        freshWall.median() < kWarmBudgetMs ? "met" : "NOT met");
    if (enforce && (coldStart >= kColdBudgetMs || freshWall.median() >= kWarmBudgetMs)) return 1;
    return 0;
}
