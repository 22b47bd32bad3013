// Ticker: calls a function about twice a second on a thread of its own, from construction until destruction. The
// progress lines of long commands (backup, verify) come from it, so workers never pay for printing.
//
// Thread-safety: `tick` runs on the ticker's thread, concurrently with the owner's; it must read only atomics or
// otherwise synchronised state. The destructor waits for a running `tick` to return.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace scnfs {

class Ticker {
 public:
  // An empty `tick` starts no thread.
  explicit Ticker(std::function<void()> tick, std::chrono::milliseconds every = std::chrono::milliseconds(500))
      : tick_(std::move(tick)) {
    if (!tick_) return;
    thread_ = std::thread([this, every] {
      std::unique_lock<std::mutex> l(mu_);
      while (!cv_.wait_for(l, every, [this] { return done_; })) tick_();
    });
  }
  ~Ticker() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

 private:
  std::function<void()> tick_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace scnfs
