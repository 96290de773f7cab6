#pragma once
// A core file. The core is mapped, never read whole; PT_LOAD segments are read only up to
// p_filesz, and what the core lacks (read-only file-backed pages) is read from the files
// named by NT_FILE, optionally relocated by --executable / --lib-search-path.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stackscope/target.hpp"

namespace stackscope {

class ElfFile;

struct CoreFileOptions {
    std::string executable;                    // replaces the executable named in the core
    std::vector<std::string> lib_search_path;  // directories searched (by file name) before the recorded paths
    bool force = false;                        // use files whose build id differs from the core's record of them
};

class CoreFile final : public Target {
public:
    CoreFile(const std::string& path, CoreFileOptions options);
    ~CoreFile() override;
    CoreFile(const CoreFile&) = delete;
    CoreFile& operator=(const CoreFile&) = delete;

    size_t read(uint64_t address, std::span<uint8_t> out) override;
    const std::vector<MemoryRegion>& regions() const override { return regions_; }
    std::vector<TargetThread> threads() const override { return threads_; }
    int pid() const override { return pid_; }
    // Throws Error(BadInput) naming both build ids when the file found here is another
    // build than the one the core mapped (unless options.force).
    std::optional<std::string> local_file(const std::string& mapped_path) const override;
    // From NT_PRPSINFO, AT_EXECFN and, for a core the kernel wrote for a signal, NT_PRSTATUS / NT_SIGINFO.
    std::optional<ProcessInfo> process_info() const override { return process_; }

private:
    struct LoadSegment {
        uint64_t vaddr, file_size, mem_size, offset;
        bool writable;
    };
    size_t read_from_core(uint64_t address, std::span<uint8_t> out) const;
    size_t read_from_mapped_file(uint64_t address, std::span<uint8_t> out);
    void parse_notes();
    std::string read_core_string(uint64_t address, size_t max_size) const;
    const ElfFile* open_mapped(const std::string& mapped_path);
    std::optional<std::string> relocated(const std::string& mapped_path) const;
    void check_build_id(const std::string& mapped_path, const std::string& local) const;

    std::string path_;
    CoreFileOptions options_;
    std::unique_ptr<ElfFile> core_;
    std::vector<LoadSegment> loads_;
    std::vector<MemoryRegion> regions_;  // file-backed mappings from NT_FILE plus anonymous PT_LOADs
    std::vector<TargetThread> threads_;
    int pid_ = 0;
    uint64_t entry_point_ = 0;  // AT_ENTRY: identifies the executable's mapping
    ProcessInfo process_;
    std::map<std::string, std::unique_ptr<ElfFile>> mapped_files_;
    std::map<std::string, std::string> missing_files_;
    mutable std::map<std::string, std::string> verified_files_;  // mapped path -> local file with its build id
    std::map<std::string, uint64_t> first_pages_;  // mapped path -> where its file offset 0 is mapped (the first)
    std::optional<std::string> entry_path_;        // the file mapped at AT_ENTRY: the executable
};

}  // namespace stackscope
