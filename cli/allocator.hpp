#pragma once
// The CLI's allocator, where it is mimalloc (STACKSCOPE_MIMALLOC): tuned before the first large
// allocation.
namespace stackscope::cli {

void tune_allocator();

}  // namespace stackscope::cli
