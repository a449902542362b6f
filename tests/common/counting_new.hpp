#pragma once
// Replaces the global operator new and delete of the test program that includes this header, to
// count this thread's allocations: include it in exactly one translation unit of a program of its
// own (a replacement is program-wide).

#include <cstddef>
#include <cstdlib>
#include <new>

namespace tp::test {

inline thread_local std::size_t allocation_count = 0;

// This thread's allocations so far (operator new, any form).
inline std::size_t allocations() noexcept {
    return allocation_count;
}

}  // namespace tp::test

// These replacements pair malloc with free on purpose; GCC cannot see that they replace the
// global pair and flags the inlined free as mismatched.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
    ++tp::test::allocation_count;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    return ::operator new(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
    ++tp::test::allocation_count;
    const auto align = static_cast<std::size_t>(a);
    // aligned_alloc wants a size that is a non-zero multiple of the alignment.
    const std::size_t size = n == 0 ? align : (n + align - 1) / align * align;
    if (void* p = std::aligned_alloc(align, size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return ::operator new(n, a);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
