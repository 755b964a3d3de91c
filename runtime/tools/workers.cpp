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

void futex_wait(std::atomic<uint32_t>& word, uint32_t expected) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr,
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
