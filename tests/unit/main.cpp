// The one translation unit that provides main() for the CAF unit-test runner (dfs-test).
#include <caf/test/unit_test_impl.hpp>
