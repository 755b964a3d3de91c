// Writes seed corpora for the fuzz targets: the hand-built packets of the library tests
// (with each link-type byte the harness expects; alone and in sequence for the journey;
// in capture files for the reader) and the built-in specs.
// usage: fuzz_seeds DIR  ->  DIR/packet/*, DIR/journey/*, DIR/capture/*, DIR/spec/*
#include "library_packets.h"
#include "mmtc/compiler.h"
#include "pcap_writer.h"

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
    fs::create_directories(dir / "journey");
    fs::create_directories(dir / "capture");
    using namespace mmtc::test::packets;
    std::vector<Bytes> seeds = {ethIpv4TcpHttp(), ethIpv6UdpDns(), ethVlanIpv4Icmp()};
    for (auto& s : extraSeeds()) seeds.push_back(s);
    int n = 0;
    for (const auto& s : seeds) {
        // Byte 0 selects the link type, 0 is Ethernet; byte 1 a protocol (fuzz_packet.cpp).
        std::ofstream out(dir / "packet" / ("seed" + std::to_string(n)), std::ios::binary);
        out.put(0);
        out.put(char(n++));
        out.write(reinterpret_cast<const char*>(s.data()), std::streamsize(s.size()));
    }
    // The journey's input: a link-type byte, then each packet after its 16-bit length.
    auto journey = [&](const std::string& name, const std::vector<Bytes>& packets) {
        std::ofstream out(dir / "journey" / name, std::ios::binary);
        out.put(0);
        for (const auto& p : packets) {
            out.put(char(p.size() >> 8));
            out.put(char(p.size() & 255));
            out.write(reinterpret_cast<const char*>(p.data()), std::streamsize(p.size()));
        }
    };
    mmt::test::PcapWriter all;
    for (size_t i = 0; i < seeds.size(); ++i) {
        journey("seed" + std::to_string(i), {seeds[i]});
        mmt::test::PcapWriter one;
        one.packet(1700000000 + i, 0, seeds[i]);
        one.write((dir / "capture" / ("seed" + std::to_string(i) + ".pcap")).string());
        all.packet(1700000000 + i, 0, seeds[i]);
    }
    journey("all", seeds);
    all.write((dir / "capture" / "all.pcap").string());
    for (const auto& e : fs::directory_iterator(mmtc::builtinSpecDir()))
        if (e.path().extension() == ".mmtp")
            fs::copy_file(e.path(), dir / "spec" / e.path().filename(),
                          fs::copy_options::overwrite_existing);
    std::printf("wrote %d packet seeds and the built-in specs under %s\n", n, dir.c_str());
    return 0;
}
