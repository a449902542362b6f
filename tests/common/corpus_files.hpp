#pragma once

// The committed fuzz corpora (tests/<module>/corpus), read back for the replay tests that check
// the fuzz properties on every `meson test`.
#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace tp::test {

struct CorpusFile {
    std::string name;  // file name, without the directory
    std::vector<std::byte> bytes;
};

// Every regular file of `dir`, sorted by name.
inline std::vector<CorpusFile> load_corpus(const std::filesystem::path& dir) {
    std::vector<CorpusFile> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        const std::vector<char> raw{std::istreambuf_iterator<char>(in), {}};
        std::vector<std::byte> bytes(raw.size());
        std::transform(raw.begin(), raw.end(), bytes.begin(),
                       [](char c) { return static_cast<std::byte>(c); });
        files.push_back({entry.path().filename().string(), std::move(bytes)});
    }
    std::sort(files.begin(), files.end(),
              [](const CorpusFile& a, const CorpusFile& b) { return a.name < b.name; });
    return files;
}

}  // namespace tp::test
