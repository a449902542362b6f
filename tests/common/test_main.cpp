// The one Boost.Test entry point, compiled once and linked into every suite.
#define BOOST_TEST_MODULE trading_post
#include <boost/test/unit_test.hpp>
