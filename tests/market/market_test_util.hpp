// Helpers shared by the market suites.
#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "tp/market/books.hpp"
#include "tp/market/codec.hpp"

namespace market_test {

using namespace tp::market;

inline TimePoint at_ms(int ms) {
    return TimePoint(std::chrono::milliseconds(ms));
}

inline std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "; ";
    return out;
}

inline void require_sound(const Books& books) {
    const auto violations = books.check_invariants();
    BOOST_TEST_REQUIRE(violations.empty(), "invariants broken: " << joined(violations));
}

template <class T>
std::vector<T> outputs_of(const Step& step) {
    std::vector<T> out;
    for (const auto& o : step.outputs)
        if (const T* t = std::get_if<T>(&o)) out.push_back(*t);
    return out;
}

template <class T>
std::vector<T> events_of(const Step& step) {
    std::vector<T> out;
    for (const auto& e : step.events)
        if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
    return out;
}

// The one BuyResult a step must carry.
inline BuyResult only_result(const Step& step) {
    const auto results = outputs_of<BuyResult>(step);
    BOOST_TEST_REQUIRE(results.size() == 1u);
    return results.front();
}

}  // namespace market_test
