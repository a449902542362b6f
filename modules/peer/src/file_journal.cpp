#include <memory>
#include <utility>

#include "tp/journal/lock_watch.hpp"
#include "tp/peer/journal.hpp"

namespace tp::peer {

namespace {

class FileJournal final : public Journal {
public:
    explicit FileJournal(std::unique_ptr<journal::Log> log) : log_(std::move(log)) {}

    Position append(std::span<const std::byte> record) override { return log_->append(record); }
    Position written() const noexcept override { return log_->written_lsn(); }
    Position durable() const noexcept override { return log_->durable_lsn(); }
    Position sync() override { return log_->sync(); }
    // Under `none` a sync is one write(2) of the buffer and no fdatasync: cheaper on the loop
    // than a hop to a thread and back.
    bool sync_blocks() const noexcept override {
        return log_->options().durability != journal::Durability::none;
    }
    void write_snapshot(Position covered, std::span<const std::byte> state) override {
        log_->write_snapshot(covered, state);
    }
    void discard_unwritten() noexcept override { log_->discard_unwritten(); }
    void truncate_after(Position position) override { log_->truncate_after(position); }
    void install_snapshot(Position covered, std::span<const std::byte> state) override {
        log_->install_snapshot(covered, state);
    }

private:
    std::unique_ptr<journal::Log> log_;
};

// Any holder, in this process or another, closes LOCK for writing when it lets go.
class FileReleaseWatch final : public ReleaseWatch {
public:
    explicit FileReleaseWatch(const std::filesystem::path& directory) : watch_(directory) {}
    int fd() const noexcept override { return watch_.fd(); }
    void drain() noexcept override { watch_.drain(); }

private:
    journal::LockWatch watch_;
};

class FileJournalStore final : public JournalStore {
public:
    FileJournalStore(std::filesystem::path directory, journal::Options options)
        : directory_(std::move(directory)), options_(options) {}

    OpenedJournal open() override {
        auto opened = journal::Log::open(directory_, options_);
        return {std::make_unique<FileJournal>(std::move(opened.log)), std::move(opened.recovery)};
    }
    std::unique_ptr<ReleaseWatch> watch_release(std::function<void()> /*released*/) override {
        return std::make_unique<FileReleaseWatch>(directory_);
    }
    std::string where() const override { return directory_.string(); }

private:
    std::filesystem::path directory_;
    journal::Options options_;
};

}  // namespace

std::unique_ptr<JournalStore> make_file_journal_store(std::filesystem::path directory,
                                                      journal::Options options) {
    return std::make_unique<FileJournalStore>(std::move(directory), options);
}

}  // namespace tp::peer
