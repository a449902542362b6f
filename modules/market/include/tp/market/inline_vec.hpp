#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <initializer_list>
#include <vector>

namespace tp::market {

// A vector that keeps up to N elements inline and moves to the heap beyond that: most buys take one
// or two lots from one or two sellers, so their events and answers allocate nothing.
template <class T, std::size_t N>
class InlineVec {
public:
    InlineVec() = default;
    InlineVec(std::initializer_list<T> items) {
        reserve(items.size());
        for (const T& t : items) push_back(t);
    }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    T* data() noexcept { return heap_.empty() ? inline_.data() : heap_.data(); }
    const T* data() const noexcept { return heap_.empty() ? inline_.data() : heap_.data(); }
    T* begin() noexcept { return data(); }
    T* end() noexcept { return data() + size_; }
    const T* begin() const noexcept { return data(); }
    const T* end() const noexcept { return data() + size_; }
    T& operator[](std::size_t i) noexcept { return data()[i]; }
    const T& operator[](std::size_t i) const noexcept { return data()[i]; }
    T& front() noexcept { return data()[0]; }
    T& back() noexcept { return data()[size_ - 1]; }
    const T& front() const noexcept { return data()[0]; }
    const T& back() const noexcept { return data()[size_ - 1]; }

    void reserve(std::size_t n) {
        if (n > N && heap_.empty()) spill(n);
    }
    void push_back(const T& t) {
        if (heap_.empty() && size_ < N) {
            inline_[size_++] = t;
            return;
        }
        if (heap_.empty()) spill(size_ + 1);
        heap_.push_back(t);
        ++size_;
    }
    void clear() noexcept {
        heap_.clear();
        size_ = 0;
    }

    friend bool operator==(const InlineVec& a, const InlineVec& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }
    friend bool operator==(const InlineVec& a, const std::vector<T>& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    void spill(std::size_t capacity) {
        heap_.reserve(std::max(capacity, 2 * N));
        heap_.assign(inline_.begin(), inline_.begin() + static_cast<std::ptrdiff_t>(size_));
    }

    std::array<T, N> inline_{};
    std::vector<T> heap_;  // holds every element once the inline space was outgrown
    std::size_t size_ = 0;
};

}  // namespace tp::market
