// A byte budget shared by reassembly buffers (streams, PDUs, fragments) of one worker.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmt {

/// Counts bytes held by reassembly buffers against a limit. Not thread-safe: one per worker.
class ByteBudget {
  public:
    /// `limit`: total bytes all buffers charged to this budget may hold.
    explicit ByteBudget(size_t limit) : limit_(limit) {}

    /// Takes `n` bytes from the budget; false (and nothing taken) if that would exceed it.
    bool reserve(size_t n) {
        if (n > limit_ - used_) {
            ++refusals_;
            return false;
        }
        used_ += n;
        if (used_ > peak_) peak_ = used_;
        if (used_ > packet_peak_) packet_peak_ = used_;
        return true;
    }
    /// Gives back `n` bytes taken earlier.
    void release(size_t n) { used_ -= n; }

    size_t limit() const { return limit_; }
    size_t used() const { return used_; }
    size_t peak() const { return peak_; }
    /// A packet starts: packet_peak() counts from the bytes held now.
    void begin_packet() { packet_peak_ = used_; }
    /// The most bytes held since begin_packet().
    size_t packet_peak() const { return packet_peak_; }
    /// Reservations refused so far.
    uint64_t refusals() const { return refusals_; }

  private:
    size_t limit_;
    size_t used_ = 0;
    size_t peak_ = 0;
    size_t packet_peak_ = 0;
    uint64_t refusals_ = 0;
};

} // namespace mmt
