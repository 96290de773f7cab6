#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "stackscope/source_files.hpp"

TEST_CASE("SourceFiles gives each file's own lines, asked in any order", "[source_files]") {
    char tmpl[] = "/tmp/stackscope-srcs-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    // More files than it keeps at hand, so that a name is sometimes found, sometimes hashed.
    std::vector<std::string> files;
    for (int f = 0; f < 7; ++f) {
        files.push_back(std::string(tmpl) + "/m" + std::to_string(f) + ".py");
        std::ofstream out(files.back());
        for (int line = 1; line <= 5; ++line) out << "  x = " << f * 10 + line << "  \n";
    }
    const std::string missing = std::string(tmpl) + "/gone.py";
    stackscope::SourceFiles sources("");
    for (const int f : {0, 1, 0, 2, 3, 4, 5, 0, 6, 1, 6, 6, 3, 0, 5, 2, 4, 1}) {
        for (const int line : {3, 1, 5}) {
            INFO("file " << f << " line " << line);
            CHECK(sources.line(files[f], line) == "x = " + std::to_string(f * 10 + line));
        }
        CHECK_FALSE(sources.line(files[f], 6));
        CHECK_FALSE(sources.line(missing, 1));
        CHECK_FALSE(sources.line("relative.py", 1));
    }
    for (const std::string& file : files) ::unlink(file.c_str());
    ::rmdir(tmpl);
    // Read once: the lines stay what they were when first read.
    CHECK(sources.line(files[4], 2) == "x = 42");
}
