// The floor of the side-by-side benchmark: libpcap's read loop alone, touching one byte of
// each packet so that the loop is not optimised away.
// Usage: pcap_loop CAPTURE
#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: pcap_loop CAPTURE\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* pc = pcap_open_offline(argv[1], err);
    if (!pc) {
        std::fprintf(stderr, "pcap_loop: %s\n", err);
        return 1;
    }
    pcap_pkthdr* h;
    const u_char* data;
    unsigned long long packets = 0;
    unsigned sum = 0;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        ++packets;
        if (h->caplen) sum += data[h->caplen - 1];
    }
    pcap_close(pc);
    std::printf("packets %llu (check %u)\n", packets, sum);
    return 0;
}
