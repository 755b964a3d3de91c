// mmtrun --workers N (see workers.h).
#include "workers.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <utility>

namespace mmtrun {

namespace {

/// Waits until `word` is no longer `expected` (or, with `timeout`, that long at most).
void futex_wait(std::atomic<uint32_t>& word, uint32_t expected, const timespec* timeout = nullptr) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, timeout,
            nullptr, 0);
}

void futex_wake(std::atomic<uint32_t>& word) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
            nullptr, 0);
}

void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// A thread out of work looks this many times before it sleeps.
constexpr int kSpins = 64;
// A sleeping worker is woken when this many packets wait for it (or when the caller
// waits, polls or drains).
constexpr uint64_t kWakeBatch = 256;
// The caller shows the workers its packets, and a worker shows the caller its progress,
// this many at a time (or sooner when either would wait): counters other threads read are
// written rarely, not per packet.
constexpr uint64_t kPublish = 16;
// The ring of packet bytes in flight: room for the 4096 packets of a full window at 2 KiB
// each, and at least twice the largest packet (mmtrun's snapshot length is at most
// 256 KiB).
constexpr uint64_t kBytes = 8u << 20;

} // namespace

void LevelMerger::add(size_t owner, const std::vector<PacketResult*>& results) {
    uint64_t others_buffered = 0, others_fragments = 0;
    for (size_t w = 0; w < results.size(); ++w) {
        now_[w] = results[w]->level;
        if (w == owner) continue;
        others_buffered += now_[w].buffered;
        others_fragments += now_[w].fragments;
    }
    // While the owner processed the packet, the others held what they held after moving
    // their clocks to it.
    uint64_t buffered = others_buffered, fragments = others_fragments;
    if (owner < results.size()) {
        buffered += now_[owner].buffered_peak;
        fragments += now_[owner].fragments_peak;
    }
    buffered_peak_ = std::max(buffered_peak_, buffered);
    fragments_peak_ = std::max(fragments_peak_, fragments);
}

Workers::Workers(size_t n, Process process, Deliver deliver, uint32_t window)
    : process_(std::move(process)), deliver_(std::move(deliver)), window_(window), n_(n),
      slots_(new Slot[window]), bytes_(new uint8_t[kBytes]), gathered_(n),
      progress_(new Progress[n]), worker_sleep_(new Sleeper[n]) {
    for (size_t w = 0; w < n; ++w) results_.emplace_back(new PacketResult[window]);
    threads_.reserve(n);
    for (size_t w = 0; w < n; ++w) threads_.emplace_back([this, w] { run(w); });
}

Workers::~Workers() {
    if (!drained_) drain();
}

uint64_t Workers::all_done() const {
    uint64_t done = ~uint64_t{0};
    for (size_t w = 0; w < n_; ++w) done = std::min(done, progress_[w].done.load());
    return done;
}

void Workers::run(size_t worker) {
    PacketResult* results = results_[worker].get();
    Sleeper& sleep = worker_sleep_[worker];
    uint64_t ready = 0;
    for (uint64_t j = 0;; ++j) {
        if (ready <= j) {
            ready = pushed_.load(std::memory_order_acquire);
            if (ready <= j) publish_progress(worker, j);
        }
        for (int i = 0; ready <= j && i < kSpins; ++i) {
            relax();
            ready = pushed_.load(std::memory_order_acquire);
        }
        while (ready <= j) {
            if (stopping_.load()) return;
            // Told to sleep, then looks once more: the caller, which stores pushed_ and then
            // looks at `asleep`, cannot miss it (both in one total order).
            sleep.asleep.store(1);
            ready = pushed_.load();
            if (ready <= j && !stopping_.load()) futex_wait(sleep.asleep, 1);
            sleep.asleep.store(0, std::memory_order_relaxed);
            ready = pushed_.load(std::memory_order_acquire);
        }
        const Slot& s = slots_[j & (window_ - 1)];
        PacketResult& r = results[j & (window_ - 1)];
        r.clear();
        process_(worker, s.raw, s.owner == worker, r);
        if ((j + 1) % kPublish == 0) publish_progress(worker, j + 1);
    }
}

void Workers::publish_progress(size_t worker, uint64_t done) {
    progress_[worker].done.store(done);
    // Then looks whether the caller sleeps (it stores `asleep`, then reads the progress).
    if (main_sleep_.asleep.load() && all_done() >= wake_main_at_.load()) {
        main_sleep_.asleep.store(0);
        futex_wake(main_sleep_.asleep);
    }
}

void Workers::wake_workers(bool all) {
    for (size_t w = 0; w < n_; ++w) {
        Sleeper& s = worker_sleep_[w];
        if (!s.asleep.load()) continue;
        if (!all && queued_ - progress_[w].done.load(std::memory_order_relaxed) < kWakeBatch)
            continue;
        s.asleep.store(0);
        futex_wake(s.asleep);
    }
}

void Workers::publish() {
    pushed_.store(queued_);
    wake_workers(false);
}

void Workers::wait_for(uint64_t target) {
    pushed_.store(queued_);
    wake_workers(true);
    for (int i = 0; i < kSpins && all_done() < target; ++i) relax();
    while (all_done() < target) {
        wake_main_at_.store(target);
        main_sleep_.asleep.store(1);
        if (all_done() < target) futex_wait(main_sleep_.asleep, 1);
        main_sleep_.asleep.store(0, std::memory_order_relaxed);
    }
}

void Workers::deliver_ready() {
    const uint64_t ready = all_done();
    for (; delivered_ < ready; ++delivered_) {
        const uint32_t index = uint32_t(delivered_ & (window_ - 1));
        for (size_t w = 0; w < n_; ++w) gathered_[w] = &results_[w][index];
        const Slot& s = slots_[index];
        deliver_(s.raw, s.owner, gathered_);
        bytes_tail_ = s.bytes_end;
    }
}

void Workers::queue(const mmt::RawPacket& raw, size_t owner) {
    if (queued_ - delivered_ == window_) {
        // Full: wait until a quarter of it is through, rather than packet by packet.
        wait_for(delivered_ + window_ / 4);
        deliver_ready();
    }
    Slot& s = slots_[queued_ & (window_ - 1)];
    s.raw = raw;
    s.owner = owner;
    if (owner < n_ && raw.caplen) {
        const uint64_t len = std::min<uint64_t>(raw.caplen, kBytes / 2);
        // A packet never wraps: one that would goes to the start of the ring.
        uint64_t at = bytes_head_ % kBytes;
        if (at + len > kBytes) bytes_head_ += kBytes - at, at = 0;
        while (bytes_head_ + len - bytes_tail_ > kBytes) {
            wait_for(delivered_ + 1);
            deliver_ready();
        }
        std::memcpy(bytes_.get() + at, raw.data, len);
        s.raw.data = bytes_.get() + at;
        s.raw.caplen = uint32_t(len);
        bytes_head_ += len;
    } else if (owner >= n_) {
        s.raw.data = nullptr;
        s.raw.caplen = 0;
    }
    s.bytes_end = bytes_head_;
    if (++queued_ % kPublish == 0) publish();
    if (queued_ % 64 == 0) deliver_ready();
}

void Workers::push(const mmt::RawPacket& raw) {
    queue(raw, pick(mmt::flow_hash(raw), n_));
}

void Workers::pass(const mmt::RawPacket& raw) {
    queue(raw, kNobody);
}

void Workers::poll() {
    pushed_.store(queued_);
    wake_workers(true);
    deliver_ready();
}

void Workers::drain() {
    if (drained_) return;
    drained_ = true;
    wait_for(queued_);
    deliver_ready();
    stopping_.store(true);
    for (size_t w = 0; w < n_; ++w) {
        worker_sleep_[w].asleep.store(0);
        futex_wake(worker_sleep_[w].asleep);
    }
    for (auto& t : threads_) t.join();
}

} // namespace mmtrun

namespace mmtrun {

namespace {

// Entries a worker may hold that the caller has not delivered yet (a power of two).
constexpr uint64_t kEntries = 4096;
// Packets a worker may read beyond the slowest one: its entries wait for the others'.
constexpr uint64_t kAhead = 1u << 15;
// A worker shows its progress every this many packets (and wakes the caller if it sleeps).
constexpr uint64_t kTell = 4096;

bool level_moved(const mmt::Handler::BufferLevel& now, const mmt::Handler::BufferLevel& before) {
    return now.buffered != before.buffered || now.fragments != before.fragments ||
           now.buffered_peak > now.buffered || now.fragments_peak > now.fragments;
}

} // namespace

FileWorkers::FileWorkers(size_t n, Open open, Mine mine, Process process, Deliver deliver)
    : n_(n), open_(std::move(open)), mine_(std::move(mine)), process_(std::move(process)),
      deliver_(std::move(deliver)), lanes_(new Lane[n]), gathered_(n) {
    for (size_t w = 0; w < n; ++w) lanes_[w].entries.reset(new Entry[kEntries]);
}

FileWorkers::~FileWorkers() = default;

uint64_t FileWorkers::slowest() const {
    // A worker that has finished has no entries beyond those it holds.
    uint64_t done = ~uint64_t{0};
    for (size_t w = 0; w < n_; ++w) {
        const uint64_t d = lanes_[w].done.load();
        if (!lanes_[w].finished.load()) done = std::min(done, d);
    }
    return done;
}

void FileWorkers::wake() {
    epoch_.fetch_add(1);
    if (sleepers_.load()) futex_wake(epoch_);
}

void FileWorkers::wait(uint32_t seen) {
    sleepers_.fetch_add(1);
    const timespec millisecond{0, 1000000};
    if (epoch_.load() == seen) futex_wait(epoch_, seen, &millisecond);
    sleepers_.fetch_sub(1);
}

void FileWorkers::work(size_t worker, uint64_t count) {
    Lane& lane = lanes_[worker];
    mmt::CaptureSource src;
    std::string why;
    auto tell = [&](uint64_t done) {
        lane.done.store(done);
        if (worker == 0) bytes_.store(src.offset(), std::memory_order_relaxed);
        wake();
    };
    if (!open_(worker, src, why)) {
        lane.last = mmt::ReadStatus::Error;
        lane.error = why;
        lane.error_kind = src.error_kind();
        stop_at_.store(0); // the others stop too
        lane.finished.store(true);
        wake();
        return;
    }
    mmt::Handler::BufferLevel kept; // the levels of the last entry
    mmt::Packet pkt;
    uint64_t number = 0;
    for (;;) {
        if ((count && number >= count) || number >= stop_at_.load(std::memory_order_relaxed)) break;
        if (number % kTell == 0) {
            tell(number);
            // Not too far ahead of the slowest worker, whose entries come first.
            for (uint32_t seen = epoch_.load(); number - slowest() > kAhead; seen = epoch_.load())
                wait(seen);
        }
        const mmt::ReadStatus rs = src.next(pkt);
        if (rs != mmt::ReadStatus::Ok) {
            lane.last = rs;
            lane.error = src.error();
            lane.error_kind = src.error_kind();
            break;
        }
        mmt::RawPacket raw = pkt.raw();
        raw.number = ++number;
        const bool mine = mine_(worker, raw);
        const uint64_t pushed = lane.pushed.load(std::memory_order_relaxed);
        if (pushed - lane.taken.load() >= kEntries) {
            tell(number - 1); // all it holds can be delivered once the others are there
            for (uint32_t seen = epoch_.load(); pushed - lane.taken.load() >= kEntries;
                 seen = epoch_.load())
                wait(seen);
        }
        Entry& e = lane.entries[pushed % kEntries];
        e.result.clear();
        process_(worker, raw, mine, e.result);
        const PacketResult& r = e.result;
        if (r.rows.empty() && r.no_flows() && r.answers.empty() && !level_moved(r.level, kept))
            continue;
        kept = r.level;
        e.number = number;
        e.ts_ns = raw.ts_ns;
        e.owner = mine;
        lane.pushed.store(pushed + 1);
    }
    tell(number);
    lane.finished.store(true);
    wake();
}

bool FileWorkers::deliver_ready() {
    const uint64_t upto = slowest();
    bool any = false;
    for (;;) {
        // The first packet any worker has an entry for.
        uint64_t next = ~uint64_t{0};
        for (size_t w = 0; w < n_; ++w) {
            Lane& l = lanes_[w];
            const uint64_t t = l.taken.load(std::memory_order_relaxed);
            if (t < l.pushed.load()) next = std::min(next, l.entries[t % kEntries].number);
        }
        if (next == ~uint64_t{0} || next > upto) return any;
        size_t owner = Workers::kNobody;
        mmt::RawPacket raw{};
        raw.number = next;
        for (size_t w = 0; w < n_; ++w) {
            Lane& l = lanes_[w];
            const uint64_t t = l.taken.load(std::memory_order_relaxed);
            Entry* e = t < l.pushed.load() ? &l.entries[t % kEntries] : nullptr;
            if (e && e->number == next) {
                gathered_[w] = &e->result;
                raw.ts_ns = e->ts_ns;
                if (e->owner) owner = w;
            } else {
                gathered_[w] = &l.quiet;
            }
        }
        deliver_(raw, owner, gathered_);
        for (size_t w = 0; w < n_; ++w) {
            Lane& l = lanes_[w];
            if (gathered_[w] == &l.quiet) continue;
            // Until its next entry, the worker holds what it held after this packet.
            const mmt::Handler::BufferLevel& lv = gathered_[w]->level;
            l.quiet.level = {lv.buffered, lv.buffered, lv.fragments, lv.fragments};
            l.taken.store(l.taken.load(std::memory_order_relaxed) + 1);
        }
        any = true;
    }
}

void FileWorkers::run(uint64_t count, const std::function<bool()>& stop,
                      const std::function<void(uint64_t packets, uint64_t bytes)>& progress) {
    std::vector<std::thread> threads;
    threads.reserve(n_);
    for (size_t w = 0; w < n_; ++w) threads.emplace_back([this, w, count] { work(w, count); });
    for (;;) {
        const uint32_t seen = epoch_.load();
        const bool delivered = deliver_ready();
        bool finished = true;
        for (size_t w = 0; w < n_; ++w) finished = finished && lanes_[w].finished.load();
        if (stop && stop() && stop_at_.load() == ~uint64_t{0}) {
            // Every worker stops at one packet, beyond where any of them has got to.
            uint64_t furthest = 0;
            for (size_t w = 0; w < n_; ++w) furthest = std::max(furthest, lanes_[w].done.load());
            stop_at_.store(furthest + 2 * kTell);
        }
        if (progress) progress(slowest(), bytes_.load(std::memory_order_relaxed));
        if (finished && !delivered) {
            deliver_ready(); // what the last progress made deliverable
            break;
        }
        if (!delivered) wait(seen);
    }
    for (auto& t : threads) t.join();
    packets_ = lanes_[0].done.load();
    // How the reading ended: the first worker's way, unless a worker failed (all read the
    // same file, and fail alike, unless one could not open it).
    last_ = lanes_[0].last;
    for (size_t w = 0; w < n_; ++w)
        if (lanes_[w].last == mmt::ReadStatus::Error) {
            last_ = mmt::ReadStatus::Error;
            error_ = lanes_[w].error;
            error_kind_ = lanes_[w].error_kind;
            break;
        }
}

} // namespace mmtrun
