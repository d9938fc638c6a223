// Model files arrive from other labs: the safetensors reader must turn any byte string into
// either a validated tensor table or germ::ModelCorrupted / germ::Error, never a crash, a hang
// or an out-of-bounds read. Every tensor view of an accepted file is read in full, so ASan
// sees any view that leaves the mapping.
#include <cstdint>

#include "fuzz_input_file.hpp"
#include "model/safetensors.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace germ::model;
  try {
    SafetensorsReader reader(germ_fuzz::input_file(data, size));
    uint64_t covered = 0, checksum = 0;
    for (const TensorInfo& tensor : reader.tensors()) {
      TensorView view = reader.view(tensor);
      auto expected = checked_byte_count(view.shape, dtype_size(view.dtype));
      germ_fuzz::check(expected && *expected == view.bytes.size(), "tensor bytes match shape x dtype");
      germ_fuzz::check(reader.find(tensor.name) == &tensor, "find() returns the tensor");
      for (char byte : view.bytes) checksum += static_cast<unsigned char>(byte);
      covered += view.bytes.size();
    }
    germ_fuzz::check(reader.data_offset() + covered == reader.file_size(), "tensors tile the data region");
    (void)checksum;
  } catch (const germ::Error&) {
  }
  return 0;
}
