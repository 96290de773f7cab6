#include "extract/extraction.hpp"

#include "cpython/build_flavour.hpp"
#include "cpython/type_anchors.hpp"

namespace stackscope {

Extraction::Extraction(Target& target, bool exclusive_frames)
    : target_(target),
      memory_(target),
      runtime_(discover_runtime(memory_)),
      objects_(memory_, runtime_.layout, types_),
      frames_(objects_),
      thread_stacks_(objects_, frames_, exclusive_frames),
      contexts_(objects_, frames_),
      futures_(objects_),
      reprs_(objects_, frames_, futures_),
      locals_(objects_, frames_, reprs_) {
    learn_builtin_types(objects_, types_, thread_stacks_, runtime_);
    flavour_ = read_build_flavour(objects_, runtime_);
    require_known_flavour(flavour_, runtime_.layout);
}

}  // namespace stackscope
