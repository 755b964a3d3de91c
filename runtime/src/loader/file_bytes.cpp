#include "loader/file_bytes.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mmt {

bool FileBytes::open(const std::string& path, std::string& error) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error = "cannot read '" + path + "'";
        return false;
    }
    struct stat st {};
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void* p = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            map_ = p;
            view_ = {static_cast<const char*>(p), size_t(st.st_size)};
            ::close(fd);
            return true;
        }
    }
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = "cannot read '" + path + "': " + std::strerror(errno);
            ::close(fd);
            return false;
        }
        copy_.append(buf, size_t(n));
    }
    ::close(fd);
    view_ = copy_;
    return true;
}

FileBytes::~FileBytes() {
    if (map_) munmap(map_, view_.size());
}

} // namespace mmt
