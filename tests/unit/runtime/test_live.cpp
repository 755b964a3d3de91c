// Live capture for real: mmtrun on the loopback interface with a capture filter, while
// the test sends UDP datagrams and a TCP exchange to 127.0.0.1. Needs root (CI runs as root).
#include "process_util.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace mmt::test;

namespace {

const std::string kMmtrun = std::string(MMT_BIN_DIR) + "/mmtrun";

sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/// Datagrams from one socket: one flow. The socket is bound to port + 1000: a source port
/// the kernel picked at random could be one a protocol is known by (BACnet's 47808,
/// Spotify's 57621), and the flow would be classified as that protocol.
void sendUdp(uint16_t port, const std::vector<std::string>& datagrams) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in from = loopback(static_cast<uint16_t>(port + 1000));
    REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
    sockaddr_in a = loopback(port);
    for (const auto& d : datagrams)
        sendto(s, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    close(s);
}

/// A TCP connection to 127.0.0.1:port carrying an HTTP request, then closed.
void tcpExchange(uint16_t port) {
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = loopback(port);
    REQUIRE(bind(srv, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(srv, 1) == 0);
    int cli = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(connect(cli, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    int conn = accept(srv, nullptr, nullptr);
    std::string req = "GET /live HTTP/1.1\r\nHost: live.test\r\n\r\n";
    REQUIRE(send(cli, req.data(), req.size(), 0) == ssize_t(req.size()));
    char buf[256];
    REQUIRE(recv(conn, buf, sizeof buf, 0) > 0);
    close(cli);
    close(conn);
    close(srv);
}

} // namespace

TEST_CASE("mmtrun -i lo with a capture filter sees UDP and TCP sent to 127.0.0.1", "[live]") {
    if (geteuid() != 0) {
        WARN("skipped: live capture needs root");
        return;
    }
    const uint16_t udpPort = 47011, tcpPort = 47012;
    char outTmpl[] = "/tmp/mmt-live-out-XXXXXX";
    char errTmpl[] = "/tmp/mmt-live-err-XXXXXX";
    char flowsTmpl[] = "/tmp/mmt-live-flows-XXXXXX";
    int outFd = mkstemp(outTmpl), errFd = mkstemp(errTmpl), flowsFd = mkstemp(flowsTmpl);
    close(flowsFd);
    std::vector<std::string> args = {kMmtrun,
                                     "-i",
                                     "lo",
                                     "-f",
                                     "udp port " + std::to_string(udpPort) + " or tcp port " +
                                         std::to_string(tcpPort),
                                     "-T",
                                     "csv",
                                     "-e",
                                     "frame.path",
                                     "-e",
                                     "ipv4.src",
                                     "-e",
                                     "udp.dst_port",
                                     "-e",
                                     "tcp.dst_port",
                                     "-e",
                                     "http.host",
                                     "--flows-file",
                                     flowsTmpl,
                                     "--no-progress"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, outFd, 1);
    posix_spawn_file_actions_adddup2(&fa, errFd, 2);
    pid_t pid;
    REQUIRE(posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);

    // Give mmtrun time to load the library and open the interface.
    for (int i = 0; i < 100 && slurp(outTmpl).empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sendUdp(udpPort, {"first", "second"});
    sendUdp(47999, {"filtered out"}); // the capture filter drops it
    tcpExchange(tcpPort);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    kill(pid, SIGINT);
    int st = 0;
    waitpid(pid, &st, 0);
    close(outFd);
    close(errFd);
    std::string out = slurp(outTmpl), err = slurp(errTmpl), flows = slurp(flowsTmpl);
    unlink(outTmpl);
    unlink(errTmpl);
    unlink(flowsTmpl);
    INFO("stdout:\n" << out << "\nstderr:\n" << err << "\nflows:\n" << flows);
    REQUIRE(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);

    auto count = [&](const std::string& needle) {
        size_t n = 0;
        for (size_t p = out.find(needle); p != std::string::npos; p = out.find(needle, p + 1)) ++n;
        return n;
    };
    CHECK(out.rfind("frame.path,ipv4.src,udp.dst_port,tcp.dst_port,http.host\n", 0) == 0);
    CHECK(count("ethernet.ipv4.udp,127.0.0.1,47011,,\n") == 2);
    CHECK(count("47999") == 0);
    CHECK(count(",,47012,") >= 3); // the handshake at least
    CHECK(count("ethernet.ipv4.tcp.http,127.0.0.1,,47012,live.test\n") == 1);
    // Flow records: one UDP flow, one TCP flow classified as HTTP.
    CHECK(flows.rfind("flow,transport,", 0) == 0);
    CHECK(flows.find("udp,127.0.0.1,") != std::string::npos);
    CHECK(flows.find(",47011,ethernet.ipv4.udp,,2,") != std::string::npos);
    CHECK(flows.find(",47012,ethernet.ipv4.tcp.http,http,") != std::string::npos);
}

namespace {

/// The promiscuity count of lo (how many captures asked for promiscuous mode).
int loPromiscuity() {
    auto r = runProcess({"/bin/sh", "-c", "ip -d link show lo"});
    size_t at = r.out.find("promiscuity ");
    return at == std::string::npos ? -1 : std::atoi(r.out.c_str() + at + 12);
}

/// Starts mmtrun with `args`; returns its pid, output going to `out`.
pid_t spawnMmtrun(std::vector<std::string> args, const std::string& out) {
    args.insert(args.begin(), kMmtrun);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

int waitStatus(pid_t pid) {
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/// Runs mmtrun with `args` and watches lo's promiscuity until it exits: the highest count
/// seen, and the exit status. It polls rather than waits a fixed time: a loaded machine may
/// take seconds to load the library and open the interface.
std::pair<int, int> promiscuityWhileRunning(std::vector<std::string> args) {
    pid_t pid = spawnMmtrun(std::move(args), "/dev/null");
    int highest = -1, st = 0;
    for (;;) {
        highest = std::max(highest, loPromiscuity());
        if (waitpid(pid, &st, WNOHANG) == pid) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return {highest, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)};
}

} // namespace

TEST_CASE("mmtrun -D lists the interfaces, lo among them", "[live]") {
    auto r = runProcess({kMmtrun, "-D"});
    CHECK(r.status == 0);
    CHECK(r.out.rfind("1. ", 0) == 0);
    CHECK(r.out.find(". lo (loopback") != std::string::npos);
}

TEST_CASE("mmtrun -i: autostop after a duration or a number of packets", "[live]") {
    if (geteuid() != 0) {
        WARN("skipped: live capture needs root");
        return;
    }
    auto t0 = std::chrono::steady_clock::now();
    auto timed = runProcess({kMmtrun, "-i", "lo", "-a", "duration:1", "-q", "--stats"});
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(timed.status == 0);
    CHECK(secs >= 1.0);
    CHECK(secs < 10.0);
    CHECK(timed.out.find("Protocol Hierarchy Statistics") != std::string::npos);

    // packets:2 with a snapshot length of 60: two rows, each cut at 60 bytes.
    char outTmpl[] = "/tmp/mmt-live-autostop-XXXXXX";
    ::close(mkstemp(outTmpl));
    pid_t pid =
        spawnMmtrun({"-i", "lo", "-f", "udp port 47021", "-a", "packets:2", "-s", "60", "-T", "csv",
                     "-E", "header=n", "-e", "frame.len", "-e", "frame.cap_len", "--no-progress"},
                    outTmpl);
    REQUIRE(pid > 0);
    // Datagrams until mmtrun has seen two and stopped.
    int status = -1;
    for (int i = 0; i < 100; ++i) {
        sendUdp(47021, {std::string(200, 'x')});
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
    }
    if (status < 0) {
        kill(pid, SIGKILL);
        waitStatus(pid);
    }
    CHECK(status == 0);
    // Two rows of the 242-byte frames, cut at the snapshot length (the kernel may keep a
    // few bytes less: at most 60).
    std::string rows = slurp(outTmpl);
    INFO(rows);
    REQUIRE(std::count(rows.begin(), rows.end(), '\n') == 2);
    for (size_t at = 0; at < rows.size(); at = rows.find('\n', at) + 1) {
        CHECK(rows.compare(at, 4, "242,") == 0);
        int cap = std::atoi(rows.c_str() + at + 4);
        CHECK(cap > 14);
        CHECK(cap <= 60);
    }
    unlink(outTmpl);
}

TEST_CASE("mmtrun -i is promiscuous unless --no-promiscuous", "[live]") {
    if (geteuid() != 0 || loPromiscuity() < 0) {
        WARN("skipped: needs root and 'ip'");
        return;
    }
    // Other captures on the machine may change the count meanwhile: a few tries.
    bool seen = false;
    for (int attempt = 0; attempt < 3 && !seen; ++attempt) {
        int before = loPromiscuity();
        auto [during, onStatus] =
            promiscuityWhileRunning({"-i", "lo", "-a", "duration:2", "-q", "--stats"});
        CHECK(onStatus == 0);
        auto [duringOff, offStatus] = promiscuityWhileRunning(
            {"-i", "lo", "-a", "duration:2", "-q", "--stats", "--no-promiscuous"});
        CHECK(offStatus == 0);
        seen = during == before + 1 && duringOff == before;
    }
    CHECK(seen);
}

TEST_CASE("mmtrun: live options are refused for files, and checked", "[live]") {
    for (std::vector<std::string> args :
         {std::vector<std::string>{"-a", "duration:5"}, {"-s", "100"}, {"--no-promiscuous"}}) {
        args.insert(args.begin(), {kMmtrun, "-r", "/nonexistent.pcap"});
        auto r = runProcess(args);
        CHECK(r.status == 2);
        CHECK(r.err.find("applies to live captures") != std::string::npos);
    }
    for (std::string bad : {"duration:0", "packets:x", "filesize:10", "duration"}) {
        auto r = runProcess({kMmtrun, "-i", "lo", "-a", bad});
        CHECK(r.status == 2);
        CHECK(r.err.find("'-a " + bad + "'") != std::string::npos);
    }
    auto snap = runProcess({kMmtrun, "-i", "lo", "-s", "0"});
    CHECK(snap.status == 2);
}

TEST_CASE("mmtrun -i lo --workers 2: a fanout group shares the packets, each seen once", "[live]") {
    if (geteuid() != 0) {
        WARN("skipped: live capture needs root");
        return;
    }
    char outTmpl[] = "/tmp/mmt-fanout-out-XXXXXX";
    char flowsTmpl[] = "/tmp/mmt-fanout-flows-XXXXXX";
    close(mkstemp(outTmpl));
    close(mkstemp(flowsTmpl));
    pid_t pid = spawnMmtrun({"-i", "lo", "-f", "udp portrange 47300-47339", "--workers", "2", "-T",
                             "csv", "-e", "frame.number", "-e", "udp.dst_port", "--flows-file",
                             flowsTmpl, "--no-progress"},
                            outTmpl);
    REQUIRE(pid > 0);
    for (int i = 0; i < 100 && slurp(outTmpl).empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    // 40 flows of 3 datagrams, sent in one burst.
    for (uint16_t port = 47300; port < 47340; ++port) sendUdp(port, {"a", "b", "c"});
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    kill(pid, SIGINT);
    CHECK(waitStatus(pid) == 0);
    std::string out = slurp(outTmpl), flows = slurp(flowsTmpl);
    unlink(outTmpl);
    unlink(flowsTmpl);
    INFO("rows:\n" << out << "\nflows:\n" << flows);
    // Every datagram in one row, with a frame number of its own.
    std::set<long> frames;
    std::map<long, int> per_port;
    std::istringstream rows(out);
    std::string line;
    std::getline(rows, line);
    CHECK(line == "frame.number,udp.dst_port");
    while (std::getline(rows, line)) {
        size_t comma = line.find(',');
        REQUIRE(comma != std::string::npos);
        frames.insert(std::atol(line.c_str()));
        ++per_port[std::atol(line.c_str() + comma + 1)];
    }
    CHECK(frames.size() == 120);
    CHECK(per_port.size() == 40);
    for (auto [port, n] : per_port) CHECK(n == 3);
    // Every flow reported once, with its three datagrams.
    size_t records = 0;
    for (size_t p = flows.find(",ethernet.ipv4.udp,"); p != std::string::npos;
         p = flows.find(",ethernet.ipv4.udp,", p + 1))
        ++records;
    CHECK(records == 40);
    for (uint16_t port = 47300; port < 47340; ++port)
        CHECK(flows.find("," + std::to_string(port) + ",ethernet.ipv4.udp,,3,") !=
              std::string::npos);
}
