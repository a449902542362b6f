// Appends per second with 128-byte records under each durability policy, next to raw
// write+fdatasync on the same file system in the same run. A plain program (not Google
// Benchmark) because each row needs its own threading shape and the table compares them.
//
//   journal-bench [--seconds S] [--dir D]
//
// D defaults to journal-bench-data next to the executable (the build dir, on the real disk);
// it is created, and removed at the end.
#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tp/journal/log.hpp"

namespace fs = std::filesystem;
using tp::journal::Durability;
using tp::journal::Log;
using tp::journal::Lsn;
using tp::journal::Options;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t record_size = 128;

struct Row {
    std::string name;
    std::uint64_t records = 0;
    double seconds = 0;
    std::uint64_t syncs = 0;  // 0: not counted
    double rate() const { return static_cast<double>(records) / seconds; }
};

double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

const std::vector<std::byte> record(record_size, std::byte{0x42});

Row raw_fdatasync(const fs::path& dir, double seconds) {
    const fs::path file = dir / "raw.dat";
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) std::perror("open"), std::exit(1);
    // Same bytes per write as a framed journal record.
    std::vector<std::byte> buf(record_size + 8, std::byte{0x42});
    Row row{"raw write+fdatasync", 0, 0, 0};
    const auto t0 = Clock::now();
    while (since(t0) < seconds) {
        if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size()) ||
            ::fdatasync(fd) != 0)
            std::perror("raw write/fdatasync"), std::exit(1);
        ++row.records;
    }
    row.seconds = since(t0);
    row.syncs = row.records;
    ::close(fd);
    fs::remove(file);
    return row;
}

Row direct(const fs::path& dir, Durability policy, const char* name, double seconds) {
    fs::remove_all(dir / "log");
    auto [log, rec] = Log::open(dir / "log", Options{.durability = policy});
    Row row{name, 0, 0, 0};
    const auto t0 = Clock::now();
    // Check the clock every 64 appends so `none` measures appends, not clock reads.
    while (since(t0) < seconds)
        for (int i = 0; i < 64; ++i, ++row.records) log->append(record);
    row.seconds = since(t0);
    if (policy == Durability::every) row.syncs = row.records;
    return row;
}

// Group commit as the trader's driver does it (modules/peer/src/node_reign.cpp): appends on
// one side, Log::sync() on a thread of its own whenever records wait, so records appended while a
// sync is in flight share the next one; an append is acknowledged once durable_lsn() covers it.
class Committer {
public:
    explicit Committer(Log& log) : log_(log), thread_([this] { run(); }) {}
    ~Committer() { stop(); }

    // Appends (one appender at a time: the Log's rule) and returns the record's LSN.
    Lsn append(std::span<const std::byte> record) {
        Lsn lsn = 0;
        {
            std::lock_guard lock(mutex_);
            lsn = log_.append(record);
        }
        wake_.notify_all();
        return lsn;
    }
    void wait_durable(Lsn lsn) {
        std::unique_lock lock(mutex_);
        durable_.wait(lock, [&] { return log_.durable_lsn() >= lsn; });
    }
    // Syncs what was appended and joins the thread.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            stopping_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    std::uint64_t syncs() const { return syncs_; }

private:
    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || log_.written_lsn() > log_.durable_lsn(); });
            if (log_.written_lsn() == log_.durable_lsn()) return;  // stopping, nothing left
            lock.unlock();
            log_.sync();  // appends go on meanwhile
            lock.lock();
            ++syncs_;
            durable_.notify_all();
        }
    }

    Log& log_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable durable_;
    bool stopping_ = false;
    std::uint64_t syncs_ = 0;
    std::thread thread_;
};

// One thread appends as fast as it can; the row ends when the last record is durable.
Row group_pipelined(const fs::path& dir, double seconds) {
    fs::remove_all(dir / "log");
    auto [log, rec] = Log::open(dir / "log", Options{.durability = Durability::group});
    Row row{"group, 1 pipelined appender", 0, 0, 0};
    Committer committer(*log);
    const auto t0 = Clock::now();
    Lsn last = 0;
    while (since(t0) < seconds)
        for (int i = 0; i < 64; ++i, ++row.records) last = committer.append(record);
    committer.wait_durable(last);
    committer.stop();
    row.seconds = since(t0);
    row.syncs = committer.syncs();
    return row;
}

// N clients, each waiting for its record to be durable before sending the next: the shape of
// the trader acknowledging requests.
Row group_closed_loop(const fs::path& dir, int clients, double seconds) {
    fs::remove_all(dir / "log");
    auto [log, rec] = Log::open(dir / "log", Options{.durability = Durability::group});
    Row row{"group, " + std::to_string(clients) + " waiting clients", 0, 0, 0};
    Committer committer(*log);
    std::atomic<std::uint64_t> total{0};
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&] {
            while (since(t0) < seconds) {
                committer.wait_durable(committer.append(record));
                total.fetch_add(1, std::memory_order_relaxed);
            }
        });
    for (auto& t : threads) t.join();
    committer.stop();
    row.seconds = since(t0);
    row.records = total.load();
    row.syncs = committer.syncs();
    return row;
}

std::string fs_type(const fs::path& dir) {
    struct statfs st {};
    if (::statfs(dir.c_str(), &st) != 0) return "unknown";
    switch (static_cast<unsigned long>(st.f_type)) {
        case 0x01021994: return "tmpfs (NOT a real disk: fdatasync is free)";
        case 0xEF53: return "ext4";
        case 0x58465342: return "xfs";
        case 0x9123683E: return "btrfs";
        case 0x794C7630: return "overlayfs";
        default: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "f_type 0x%lX", static_cast<unsigned long>(st.f_type));
            return buf;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 2.0;
    fs::path dir = fs::canonical("/proc/self/exe").parent_path() / "journal-bench-data";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--seconds") == 0)
            seconds = std::atof(argv[i + 1]);
        else if (std::strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else
            std::fprintf(stderr, "usage: %s [--seconds S] [--dir D]\n", argv[0]), std::exit(2);
    }
    fs::create_directories(dir);
    std::printf("journal append throughput, %zu-byte records, %.1f s per row\n", record_size,
                seconds);
    std::printf("directory %s on %s\n\n", dir.c_str(), fs_type(dir).c_str());

    std::vector<Row> rows;
    rows.push_back(raw_fdatasync(dir, seconds));
    rows.push_back(direct(dir, Durability::every, "every (fdatasync per append)", seconds));
    rows.push_back(group_pipelined(dir, seconds));
    for (int clients : {8, 64, 256}) rows.push_back(group_closed_loop(dir, clients, seconds));
    rows.push_back(direct(dir, Durability::none, "none (write only)", seconds));
    fs::remove_all(dir);

    const double every = rows[1].rate();
    std::printf("%-32s %12s %10s %14s %10s %12s\n", "mode", "records", "seconds", "records/s",
                "x every", "recs/sync");
    for (const auto& r : rows) {
        std::printf("%-32s %12llu %10.2f %14.0f %10.1f", r.name.c_str(),
                    static_cast<unsigned long long>(r.records), r.seconds, r.rate(),
                    r.rate() / every);
        if (r.syncs)
            std::printf(" %12.1f\n", static_cast<double>(r.records) / r.syncs);
        else
            std::printf(" %12s\n", "-");
    }
    return 0;
}
