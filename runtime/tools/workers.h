// mmtrun --workers N: flows spread over N threads by the hash of their addresses, each
// thread with its own handler, and what they made of each packet handed back in capture
// order.
#pragma once

#include "mmt/runtime.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace mmtrun {

/// An address a DNS answer gave, with the name asked for.
struct DnsAnswer {
    uint8_t address[16];
    uint8_t length;
    std::string name;
};

/// What one worker made of one packet: the worker that processed it, or another whose
/// clock it moved (its flows that timed out by then end on it).
struct alignas(64) PacketResult {
    std::string rows;                    ///< the packet's lines
    std::vector<mmt::SessionInfo> flows; ///< flows that ended on it
    std::vector<DnsAnswer> answers;      ///< the DNS answers it gave
    bool passed = true;                  ///< it matched the display filter (-w writes it)
    mmt::Handler::BufferLevel level;     ///< the handler's buffers after it (Handler)
    /// Ready for the slot's next packet. What a burst made large (thousands of flows timing
    /// out on one packet) is given back rather than kept in every slot it passed through.
    void clear() {
        if (flows.capacity() > 16) flows = {};
        if (answers.capacity() > 16) answers = {};
        if (rows.capacity() > 4096) rows = {};
        rows.clear();
        flows.clear();
        answers.clear();
        passed = true;
    }
};

/// The peaks of reassembly buffers one handler would have had, from every worker's levels
/// packet by packet in capture order.
class LevelMerger {
  public:
    explicit LevelMerger(size_t workers) : now_(workers) {}
    /// Packet by packet: the results of every worker, `owner` the one that processed it.
    void add(size_t owner, const std::vector<PacketResult*>& results);
    uint64_t buffered_peak() const { return buffered_peak_; }
    uint64_t fragments_peak() const { return fragments_peak_; }

  private:
    std::vector<mmt::Handler::BufferLevel> now_; // per worker
    uint64_t buffered_peak_ = 0, fragments_peak_ = 0;
};

/// Workers that own disjoint sets of flows, picked by mmt::flow_hash (every packet of a
/// flow, of a fragmented datagram and of a tunnel goes to one worker). push() copies each
/// packet into a window of packets in flight. Every worker walks the whole window in order:
/// it processes the packets it owns and moves its handler's clock over the others', so its
/// flows time out on the very packet they would in one handler. `deliver` gets each packet
/// with every worker's result, on the caller's thread, in capture order. Nothing takes a
/// lock: the window is written by the caller alone, each result by one worker, and threads
/// that run out of work sleep on a futex.
class Workers {
  public:
    /// Runs on worker `worker`'s thread, for every packet in order: processes `raw` when
    /// `mine`, else only moves the clock to its time.
    using Process =
        std::function<void(size_t worker, const mmt::RawPacket& raw, bool mine, PacketResult& out)>;
    /// Runs on the caller's thread, once per packet, in the order they were pushed.
    using Deliver = std::function<void(const mmt::RawPacket& raw, size_t owner,
                                       const std::vector<PacketResult*>& results)>;

    /// `n` threads; at most `window` packets (a power of two) in flight.
    Workers(size_t n, Process process, Deliver deliver, uint32_t window = 4096);
    ~Workers();
    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;

    /// Which worker a flow hash picks. --shard uses the hash's high half, workers the low.
    static size_t pick(uint64_t hash, size_t n) { return size_t(uint32_t(hash) % n); }

    /// Queues a packet (its bytes are copied); delivers results that are ready, and waits
    /// for some when the window is full.
    void push(const mmt::RawPacket& raw);
    /// Queues a packet no worker processes (another shard's): their clocks move to its
    /// time. It is delivered with the owner kNobody.
    void pass(const mmt::RawPacket& raw);
    static constexpr size_t kNobody = ~size_t{0};
    /// Delivers the results that are ready, after waking the workers to what is queued.
    void poll();
    /// Waits for every packet pushed and delivers it, then stops the threads.
    void drain();

  private:
    // Cache-line aligned, as everything one thread writes while another reads nearby: the
    // caller fills slots ahead of the workers, the workers fill results ahead of the caller.
    struct alignas(64) Slot {
        mmt::RawPacket raw; // its bytes in bytes_
        size_t owner = 0;
        uint64_t bytes_end = 0; // where its bytes end in bytes_, counted from the start
    };
    /// A word a thread sleeps on, on its own cache line.
    struct alignas(64) Sleeper {
        std::atomic<uint32_t> asleep{0};
    };
    struct alignas(64) Progress {
        std::atomic<uint64_t> done{0}; // packets the worker is through with
    };

    void run(size_t worker);
    void publish_progress(size_t worker, uint64_t done);
    void publish();
    void queue(const mmt::RawPacket& raw, size_t owner);
    void wait_for(uint64_t target);
    uint64_t all_done() const;
    void deliver_ready();
    void wake_workers(bool all);

    Process process_;
    Deliver deliver_;
    const uint32_t window_;
    const size_t n_;
    std::unique_ptr<Slot[]> slots_;
    // The bytes of the packets in flight, one after the other in a ring: the window's
    // memory is bounded whatever the packets' sizes. Counted from the start of the run.
    std::unique_ptr<uint8_t[]> bytes_;
    uint64_t bytes_head_ = 0, bytes_tail_ = 0;
    std::vector<std::unique_ptr<PacketResult[]>> results_; // per worker, per slot
    std::vector<PacketResult*> gathered_;                  // one packet's, for deliver_
    alignas(64) std::atomic<uint64_t> pushed_{0};
    std::atomic<bool> stopping_{false};
    std::unique_ptr<Progress[]> progress_;
    std::unique_ptr<Sleeper[]> worker_sleep_;
    Sleeper main_sleep_;
    std::atomic<uint64_t> wake_main_at_{0}; // the progress that wakes the caller
    uint64_t queued_ = 0, delivered_ = 0;
    std::vector<std::thread> threads_;
    bool drained_ = false;
};

} // namespace mmtrun
