// Writes seed corpora for the fuzz targets: the hand-built packets of the library tests
// (with each link-type byte the harness expects) and the built-in specs.
// usage: fuzz_seeds DIR  ->  DIR/packet/*, DIR/spec/*
#include "library_packets.h"
#include "mmtc/compiler.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
        return 2;
    }
    fs::path dir = argv[1];
    fs::create_directories(dir / "packet");
    fs::create_directories(dir / "spec");
    using namespace mmtc::test::packets;
    std::vector<Bytes> seeds = {ethIpv4TcpHttp(), ethIpv6UdpDns(), ethVlanIpv4Icmp()};
    for (auto& s : extraSeeds()) seeds.push_back(s);
    int n = 0;
    for (const auto& s : seeds) {
        // Byte 0 selects the link type: 0 is Ethernet (see fuzz_packet.cpp).
        std::ofstream out(dir / "packet" / ("seed" + std::to_string(n++)), std::ios::binary);
        out.put(0);
        out.write(reinterpret_cast<const char*>(s.data()), std::streamsize(s.size()));
    }
    for (const auto& e : fs::directory_iterator(mmtc::builtinSpecDir()))
        if (e.path().extension() == ".mmtp")
            fs::copy_file(e.path(), dir / "spec" / e.path().filename(),
                          fs::copy_options::overwrite_existing);
    std::printf("wrote %d packet seeds and the built-in specs under %s\n", n, dir.c_str());
    return 0;
}
