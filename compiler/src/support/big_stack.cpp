#include "support/big_stack.h"

#include <exception>

#include <pthread.h>

namespace mmtc::support {

namespace {

struct Job {
    const std::function<void()>* work;
    std::exception_ptr failure;
};

void* runJob(void* arg) {
    auto* job = static_cast<Job*>(arg);
    try {
        (*job->work)();
    } catch (...) {
        job->failure = std::current_exception();
    }
    return nullptr;
}

} // namespace

void runOnBigStack(const std::function<void()>& work, size_t stack_bytes) {
    Job job{&work, nullptr};
    pthread_attr_t attr;
    pthread_t thread;
    bool started = pthread_attr_init(&attr) == 0;
    if (started) {
        started = pthread_attr_setstacksize(&attr, stack_bytes) == 0 &&
                  pthread_create(&thread, &attr, &runJob, &job) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        work();
        return;
    }
    pthread_join(thread, nullptr);
    if (job.failure) std::rethrow_exception(job.failure);
}

} // namespace mmtc::support
