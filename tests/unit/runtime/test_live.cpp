// Live capture for real: mmtrun on the loopback interface with a capture filter, while
// the test sends UDP datagrams and a TCP exchange to 127.0.0.1. Needs root (CI runs as root).
#include "process_util.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
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

/// Datagrams from one socket: one flow.
void sendUdp(uint16_t port, const std::vector<std::string>& datagrams) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
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
