// Every version table sets every field its era's code paths read (core/cpython/versions/required_fields.cpp).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "cpython/python_layout.hpp"

TEST_CASE("every version table sets every field its era requires", "[layout]") {
    const auto layouts = stackscope::all_layouts();
    REQUIRE(layouts.size() >= 8);
    for (const stackscope::PythonLayout& layout : layouts) {
        INFO("Python " << layout.version.str());
        CHECK(stackscope::missing_fields(layout) == std::vector<std::string>{});
    }
}

TEST_CASE("a gap in a table is reported by the field's name", "[layout]") {
    auto layout = stackscope::layout_for(3, 12);
    REQUIRE(layout);
    layout->interp_sysdict = stackscope::kAbsent;
    layout->code_qualname = stackscope::kAbsent;
    const auto missing = stackscope::missing_fields(*layout);
    CHECK(missing == std::vector<std::string>{"interp_sysdict", "code_qualname"});
}
