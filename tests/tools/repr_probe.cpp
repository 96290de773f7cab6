// repr_probe: prints, as a JSON list, the tool's bounded repr of each object address given
// (and with --function-name, upstream's format_funcname of each), read from a live process
// (stopped while it is read) or a core. A test tool: built with the tests, never installed.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "exit_codes.hpp"
#include "extract/extraction.hpp"
#include "stackscope/core_file.hpp"
#include "stackscope/error.hpp"
#include "stackscope/live_process.hpp"

int main(int argc, char** argv) {
    using namespace stackscope;
    CLI::App app{"repr_probe: the bounded repr of objects in a target (a test tool)"};
    app.require_subcommand(1);
    app.fallthrough();
    bool function_names = false;
    std::vector<std::string> addresses;
    app.add_flag("--function-name", function_names, "Print format_funcname(object) instead of repr(object)");
    int pid = 0;
    CLI::App* pid_cmd = app.add_subcommand("pid", "A live process, stopped while it is read");
    pid_cmd->add_option("PID", pid)->required();
    pid_cmd->add_option("ADDRESS", addresses, "Object addresses (id(obj))");
    std::string core_path;
    CoreFileOptions core_options;
    CLI::App* core_cmd = app.add_subcommand("core", "A core file");
    core_cmd->add_option("CORE", core_path)->required();
    core_cmd->add_option("ADDRESS", addresses, "Object addresses (id(obj))");
    core_cmd->add_option("--executable", core_options.executable);
    CLI11_PARSE(app, argc, argv);

    try {
        std::unique_ptr<Target> target;
        LiveProcess* live = nullptr;
        if (pid_cmd->parsed()) {
            auto process = std::make_unique<LiveProcess>(pid, LiveProcess::Options{});
            live = process.get();
            target = std::move(process);
        } else {
            target = std::make_unique<CoreFile>(core_path, core_options);
        }
        Extraction extraction(*target, /*exclusive_frames=*/true);
        nlohmann::json out = nlohmann::json::array();
        for (const std::string& text : addresses) {
            const uint64_t address = std::stoull(text, nullptr, 0);
            out.push_back(function_names ? extraction.reprs().function_name(address)
                                         : extraction.reprs().repr(address));
        }
        if (live) live->detach();
        std::cout << out.dump() << "\n";
        return 0;
    } catch (const Error& e) {
        std::cerr << "repr_probe: " << e.what() << "\n";
        return stackscope::cli::exit_code_of(e.kind());
    }
}
