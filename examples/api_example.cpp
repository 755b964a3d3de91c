// A complete program using the runtime library: reads a capture with libpcap, prints
// every DNS name and HTTP host it sees, and one line per session when it ends.
// Build it against libmmt like examples/CMakeLists.txt does; run: api_example FILE.pcap
#include "mmt/runtime.h"

#include <pcap/pcap.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: api_example CAPTURE\n");
        return 2;
    }
    // 1. The protocol library: the built-in specs, compiled once and cached.
    std::string error;
    auto library = mmt::ProtocolLibrary::load(mmt::LoadOptions{}, error);
    if (!library) {
        std::fprintf(stderr, "cannot load protocols: %s\n", error.c_str());
        return 3;
    }

    // 2. A handler, and what we want from it.
    mmt::Handler handler(*library);
    handler.on_attribute("dns.qname", [](const mmt::PacketView& p, const mmt::Value& v) {
        std::printf("packet %llu: dns %s\n", static_cast<unsigned long long>(p.number()),
                    v.text().c_str());
        return mmt::Action::Continue;
    });
    handler.on_attribute("http.host", [](const mmt::PacketView& p, const mmt::Value& v) {
        std::printf("packet %llu: http host %s (%s)\n", static_cast<unsigned long long>(p.number()),
                    v.text().c_str(), p.path_text().c_str());
        return mmt::Action::Continue;
    });
    handler.on_session_end([](const mmt::SessionInfo& s) {
        std::printf("session %llu %s %s -> %s app=%s packets=%llu+%llu (%s)\n",
                    static_cast<unsigned long long>(s.id), s.transport.c_str(), s.src.c_str(),
                    s.dst.c_str(), s.application.c_str(),
                    static_cast<unsigned long long>(s.packets[0]),
                    static_cast<unsigned long long>(s.packets[1]), s.end_reason.c_str());
    });

    // 3. Packets, in capture order.
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t* pcap =
        pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!pcap) {
        std::fprintf(stderr, "cannot open %s: %s\n", argv[1], errbuf);
        return 2;
    }
    pcap_pkthdr* hdr;
    const u_char* data;
    while (pcap_next_ex(pcap, &hdr, &data) == 1) {
        mmt::RawPacket raw;
        raw.data = data;
        raw.caplen = hdr->caplen;
        raw.wirelen = hdr->len;
        raw.linktype = uint32_t(pcap_datalink(pcap));
        raw.ts_ns = uint64_t(hdr->ts.tv_sec) * 1000000000ull + uint64_t(hdr->ts.tv_usec);
        handler.process(raw);
    }
    pcap_close(pcap);
    handler.finish(); // sessions still open end now
    return 0;
}
