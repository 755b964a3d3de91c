// mmtrun --workers N: flows spread over N threads by the hash of their addresses, each
// thread with its own handler, and what they made of each packet handed back in capture
// order.
#pragma once

#include "input/capture.h"
#include "mmt/runtime.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
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
    std::string rows;                ///< the packet's lines
    std::vector<DnsAnswer> answers;  ///< the DNS answers it gave
    bool passed = true;              ///< it matched the display filter (-w writes it)
    mmt::Handler::BufferLevel level; ///< the handler's buffers after it (Handler)

    /// The flows that ended on it.
    std::span<mmt::SessionInfo> flows() { return {flows_.data(), n_flows_}; }
    bool no_flows() const { return n_flows_ == 0; }
    /// One more flow that ended on it: copied into a record the slot keeps from packet to
    /// packet, whose strings keep their memory (flows end by the thousand: no allocation
    /// for each).
    void add_flow(const mmt::SessionInfo& s) {
        if (n_flows_ < flows_.size())
            flows_[n_flows_] = s;
        else
            flows_.push_back(s);
        ++n_flows_;
    }
    /// Ready for the slot's next packet. What a burst made large (thousands of flows timing
    /// out on one packet) is given back rather than kept in every slot it passed through.
    void clear() {
        if (n_flows_) {
            if (flows_.size() > 16) flows_ = {};
            n_flows_ = 0;
        }
        if (!answers.empty()) {
            if (answers.capacity() > 16) answers = {};
            answers.clear();
        }
        if (!rows.empty()) {
            if (rows.capacity() > 4096) rows = {};
            rows.clear();
        }
        passed = true;
    }

  private:
    std::vector<mmt::SessionInfo> flows_; // the first n_flows_ are this packet's
    size_t n_flows_ = 0;
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

/// Workers that read a capture file themselves (one read in place, see
/// mmt::CaptureSource::in_place): every worker walks every record of its own reader, processes
/// the packets whose flow it owns and moves its handler's clock over the others', so no packet
/// crosses cores. What a worker makes of a packet is kept only when there is something (rows,
/// flows that ended, DNS answers, a change of its buffers), with the packet's number, and
/// `deliver` gets every packet that has something, with every worker's result, in capture
/// order, on the caller's thread (run()). Nothing takes a lock; threads that wait sleep on a
/// futex.
class FileWorkers {
  public:
    /// Opens the file for worker `worker`'s reader; false with `error` set on failure.
    using Open = std::function<bool(size_t worker, mmt::CaptureSource& src, std::string& error)>;
    /// Whether packet `raw` (numbered) is the worker's to process; the others only move its
    /// clock. Runs on the worker's thread.
    using Mine = std::function<bool(size_t worker, const mmt::RawPacket& raw)>;
    /// The same as Workers::Process and Workers::Deliver; `raw` is only numbered and timed
    /// in Deliver, and the owner is kNobody when only other workers' flows ended on it.
    using Process = Workers::Process;
    using Deliver = Workers::Deliver;

    FileWorkers(size_t n, Open open, Mine mine, Process process, Deliver deliver);
    ~FileWorkers();
    FileWorkers(const FileWorkers&) = delete;
    FileWorkers& operator=(const FileWorkers&) = delete;

    /// Reads the whole file (at most `count` packets when not 0) and delivers what the
    /// workers made of it; returns once the threads have stopped. `stop` is polled: once set,
    /// the workers stop together at a packet. `progress` is called now and then with the
    /// packets and bytes read.
    void run(uint64_t count, const std::function<bool()>& stop,
             const std::function<void(uint64_t packets, uint64_t bytes)>& progress);

    /// After run(): the packets read, and how the reading ended (the first worker's reader,
    /// as all read the same file, unless another could not open it).
    uint64_t packets() const { return packets_; }
    uint64_t bytes() const { return bytes_.load(); }
    mmt::ReadStatus last_status() const { return last_; }
    const std::string& error() const { return error_; }
    mmt::CaptureError error_kind() const { return error_kind_; }

  private:
    struct Entry {
        uint64_t number = 0; // of the packet in the file, from 1
        uint64_t ts_ns = 0;
        bool owner = false; // the worker processed the packet
        PacketResult result;
    };
    /// One worker's entries, a ring it fills and the caller empties.
    struct alignas(64) Lane {
        std::unique_ptr<Entry[]> entries;
        alignas(64) std::atomic<uint64_t> pushed{0}; // entries written
        alignas(64) std::atomic<uint64_t> done{0};   // packets the worker is through with
        std::atomic<bool> finished{false};
        alignas(64) std::atomic<uint64_t> taken{0}; // entries the caller has delivered
        PacketResult quiet; // a packet without an entry: nothing, the last levels
        // How the worker's reading ended (read by the caller once the thread has ended).
        mmt::ReadStatus last = mmt::ReadStatus::End;
        std::string error;
        mmt::CaptureError error_kind = mmt::CaptureError::None;
    };

    void work(size_t worker, uint64_t count);
    bool deliver_ready();
    /// Tells whoever waits (the caller, a worker ahead) that something moved.
    void wake();
    /// Sleeps until something moved since `seen` (the epoch), a millisecond at most.
    void wait(uint32_t seen);
    uint64_t slowest() const;

    const size_t n_;
    Open open_;
    Mine mine_;
    Process process_;
    Deliver deliver_;
    std::unique_ptr<Lane[]> lanes_;
    std::vector<PacketResult*> gathered_;
    alignas(64) std::atomic<uint64_t> stop_at_{~uint64_t{0}};
    std::atomic<uint64_t> bytes_{0}; // the first worker's reader's
    alignas(64) std::atomic<uint32_t> epoch_{0};
    std::atomic<uint32_t> sleepers_{0};
    uint64_t packets_ = 0;
    mmt::ReadStatus last_ = mmt::ReadStatus::End;
    std::string error_;
    mmt::CaptureError error_kind_ = mmt::CaptureError::None;
};

} // namespace mmtrun
