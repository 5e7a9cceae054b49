// The pickle inside a PyTorch zip archive (data.pkl), for state dicts only.
//
// Reading is a restricted unpickler in the spirit of torch.load(weights_only=True): it
// implements the pickle machine for the opcodes of protocols 2 to 5 that plain data
// needs and resolves only the globals a state dict is made of (collections.OrderedDict,
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter[_with_state] and the typed
// storage classes). Any other global (os.system, builtins.eval, ...) is refused with an
// Error of kind Unsafe before anything could be called: nothing in the file is ever
// executed. Memo and stack sizes are bounded and every tensor view is checked against
// its storage.
//
// Writing produces, byte for byte, what Python's pickler writes for torch.save of an
// OrderedDict of tensors (protocol 2, one storage per tensor, no _metadata).
#pragma once

#include "formats/state_dict.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace igpg {

// The unpickler's limits: stack depth, and objects created (which bounds the memo too).
// A state dict needs about 15 objects per tensor: 2M objects hold 130k tensors.
constexpr size_t kPickleMaxStack = size_t(1) << 20;
constexpr size_t kPickleMaxObjects = size_t(1) << 21;

// Returns storage `key` of the archive as a 1-D CPU tensor of `dtype` with `numel`
// elements, or throws when the archive's record does not hold exactly that.
using StorageLoader = std::function<torch::Tensor(const std::string& key, torch::ScalarType dtype, int64_t numel)>;

// `source` names the pickle in errors ("model.pt: data.pkl"). The top-level object must
// be a dict or OrderedDict from tensor names to tensors. The returned tensors live on the
// CPU and, as torch.load returns them, are views of the storages: tensors saved as views
// of one storage share its memory, and a tensor saved non-contiguous stays so.
StateDict unpickleStateDict(const uint8_t* data, size_t size, const StorageLoader& storages,
                            const std::string& source);

struct StateDictPickle {
  std::string pickle;                   // the data.pkl record
  std::vector<torch::Tensor> storages;  // storages[i] is record data/<i>: contiguous, CPU
};

// StateDict::metadata has no place in a torch.save state dict and is not written.
// Throws Error(Format) naming the tensor for a dtype with no typed storage class.
StateDictPickle pickleStateDict(const StateDict& tensors);

}  // namespace igpg
