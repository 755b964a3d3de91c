// ZeroedArray: a fixed-capacity array of zero-initialised trivial values whose memory is
// taken from the system only when first touched. The session table sizes its arrays for
// its largest load (262,144 sessions by default) but a short capture uses a few pages of
// them: the kernel maps zero pages on demand, so neither start-up time nor resident memory
// grows with the capacity.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace mmt {

template <typename T> class ZeroedArray {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                  "zero bytes must be a valid T");

  public:
    ZeroedArray() = default;
    /// `n` values of zero bytes; throws std::bad_alloc when the address space is short.
    explicit ZeroedArray(size_t n) : bytes_(n * sizeof(T)) {
        if (n == 0) return;
        void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        data_ = static_cast<T*>(p);
    }
    ZeroedArray(ZeroedArray&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
    ZeroedArray& operator=(ZeroedArray&& o) noexcept {
        if (this != &o) {
            release();
            data_ = std::exchange(o.data_, nullptr);
            bytes_ = std::exchange(o.bytes_, 0);
        }
        return *this;
    }
    ZeroedArray(const ZeroedArray&) = delete;
    ZeroedArray& operator=(const ZeroedArray&) = delete;
    ~ZeroedArray() { release(); }

    T* get() const { return data_; }
    T& operator[](size_t i) const { return data_[i]; }

  private:
    void release() {
        if (data_) ::munmap(data_, bytes_);
        data_ = nullptr;
    }
    T* data_ = nullptr;
    size_t bytes_ = 0;
};

} // namespace mmt
