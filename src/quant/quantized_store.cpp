#include "quant/quantized_store.hpp"

#include <torch/csrc/autograd/grad_mode.h>

#include <nlohmann/json.hpp>

#include "quant/int_packing.hpp"
#include "util/error.hpp"

namespace germ::quant {
namespace {

std::string tensor_name(const std::string& layer, const char* part) {
  return std::string(kQuantTensorPrefix) + layer + "." + part;
}

nlohmann::json activation_json(const ActivationQuantizer& a) {
  nlohmann::json j{{"scheme", to_string(a.scheme)}, {"bits", a.bits}};
  if (a.scheme == ActivationScheme::kStaticPerTensor) {
    j["scale"] = a.static_scale;
    j["zero_point"] = a.static_zero_point;
  } else {
    j["clip"] = a.clip;
  }
  return j;
}

ActivationQuantizer activation_from_json(const nlohmann::json& j) {
  ActivationQuantizer a;
  a.scheme = parse_activation_scheme(j.at("scheme").get<std::string>());
  a.bits = j.at("bits").get<int>();
  if (a.bits < 2 || a.bits > 8) throw Error("activation bits " + std::to_string(a.bits) + " outside 2..8");
  if (a.scheme == ActivationScheme::kStaticPerTensor) {
    a.static_scale = j.at("scale").get<float>();
    a.static_zero_point = j.at("zero_point").get<int32_t>();
    if (!(a.static_scale > 0) || a.static_zero_point < 0 || a.static_zero_point > asymmetric_qmax(a.bits))
      throw Error("activation scale/zero point out of range");
  } else {
    a.clip = j.at("clip").get<float>();
    if (!(a.clip > 0) || a.clip > 1) throw Error("activation clip outside (0, 1]");
  }
  return a;
}

// The extra tensor `name`, checked for dtype and shape; undefined when optional and absent.
at::Tensor take(model::ModelBundle& bundle, const std::string& path, const std::string& name, at::ScalarType dtype,
                std::vector<int64_t> shape, bool optional) {
  auto it = bundle.extra_tensors.find(name);
  if (it == bundle.extra_tensors.end()) {
    if (optional) return {};
    throw ModelCorrupted(path, "tensor '" + name + "' is missing");
  }
  at::Tensor t = it->second;
  bundle.extra_tensors.erase(it);
  if (t.scalar_type() != dtype) throw ModelCorrupted(path, "tensor '" + name + "' has the wrong dtype");
  if (t.sizes() != at::IntArrayRef(shape))
    throw ModelCorrupted(path, "tensor '" + name + "' has shape " + std::to_string(t.numel()) +
                                   " elements, expected " + c10::str(at::IntArrayRef(shape)));
  return t.contiguous();
}

}  // namespace

void store_quantization(model::ModelBundle& bundle, const QuantizedModel& quantized) {
  const PtqOptions& o = quantized.options;
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : quantized.layers) {
    layers.push_back({{"name", l.name}, {"weight_bits", l.weight_bits}, {"per_channel", l.per_channel},
                      {"activation", activation_json(l.activation)}});
    bundle.extra_tensors[tensor_name(l.name, "codes")] = pack_codes(l.weight.codes, l.weight_bits);
    bundle.extra_tensors[tensor_name(l.name, "scales")] = l.weight.scales.contiguous();
    if (l.inv_smooth.defined()) bundle.extra_tensors[tensor_name(l.name, "inv_smooth")] = l.inv_smooth;
    if (l.shift.defined()) bundle.extra_tensors[tensor_name(l.name, "shift")] = l.shift;
    if (l.offset.defined()) bundle.extra_tensors[tensor_name(l.name, "offset")] = l.offset;
    bundle.omitted_parameters.insert(l.name + ".weight");
  }
  nlohmann::json meta{{"method", to_string(o.method)}, {"bits", o.bits.text()}, {"layers", layers},
                      {"details", quantized.details}};
  if (o.method == Method::kSmoothQuant) meta["alpha"] = o.alpha;
  if (o.method == Method::kOmniQuant) meta["epochs"] = o.omniquant_epochs;
  bundle.extra_metadata[kQuantMetadata] = meta.dump();
}

bool is_quantized(const model::ModelBundle& bundle) { return bundle.extra_metadata.count(kQuantMetadata) > 0; }

void attach_stored_quantization(model::ModelBundle& bundle, const std::string& path, Execution execution) {
  auto meta = bundle.extra_metadata.find(kQuantMetadata);
  if (meta == bundle.extra_metadata.end()) {
    for (const auto& [name, tensor] : bundle.extra_tensors)
      if (name.rfind(kQuantTensorPrefix, 0) == 0) throw ModelCorrupted(path, "quantized tensors without germ.quant metadata");
    return;
  }
  QuantizedModel quantized;
  std::vector<nlohmann::json> layer_entries;
  try {
    auto j = nlohmann::json::parse(meta->second);
    quantized.options.method = parse_method(j.at("method").get<std::string>());
    quantized.options.bits = parse_bit_widths(j.at("bits").get<std::string>());
    for (const auto& entry : j.at("layers")) layer_entries.push_back(entry);
  } catch (const std::exception& e) {
    throw ModelCorrupted(path, std::string("germ.quant metadata: ") + e.what());
  }
  std::map<std::string, model::GermLinear> linears;
  for (const auto& l : quantizable_linears(bundle.model)) linears.emplace(l.name, l.linear);
  torch::NoGradGuard no_grad;
  for (const auto& entry : layer_entries) {
    LinearQuantization q;
    try {
      q.name = entry.at("name").get<std::string>();
      q.weight_bits = entry.at("weight_bits").get<int>();
      q.per_channel = entry.at("per_channel").get<bool>();
      q.activation = activation_from_json(entry.at("activation"));
    } catch (const std::exception& e) {
      throw ModelCorrupted(path, std::string("germ.quant layer entry: ") + e.what());
    }
    auto linear = linears.find(q.name);
    if (linear == linears.end()) throw ModelCorrupted(path, "germ.quant names an unknown layer '" + q.name + "'");
    if (q.weight_bits < 2 || q.weight_bits > 8) throw ModelCorrupted(path, "layer '" + q.name + "' has weight bits outside 2..8");
    const int64_t out = linear->second->out_features, in = linear->second->in_features;
    const int64_t bytes = packed_bytes(out * in, q.weight_bits);
    at::Tensor packed = take(bundle, path, tensor_name(q.name, "codes"),
                             storage_bits(q.weight_bits) == 8 ? at::kChar : at::kByte, {bytes}, false);
    at::Tensor codes;
    try {
      codes = unpack_codes(packed, q.weight_bits, out * in).reshape({out, in});
    } catch (const Error& e) {
      throw ModelCorrupted(path, "layer '" + q.name + "': " + e.what());
    }
    at::Tensor scales = take(bundle, path, tensor_name(q.name, "scales"), at::kFloat, {q.per_channel ? out : 1}, false);
    if (!at::isfinite(scales).all().item<bool>() || (scales <= 0).any().item<bool>())
      throw ModelCorrupted(path, "layer '" + q.name + "' has non-positive or non-finite weight scales");
    q.weight = {codes.contiguous(), scales};
    q.inv_smooth = take(bundle, path, tensor_name(q.name, "inv_smooth"), at::kFloat, {in}, true);
    q.shift = take(bundle, path, tensor_name(q.name, "shift"), at::kFloat, {in}, true);
    q.offset = take(bundle, path, tensor_name(q.name, "offset"), at::kFloat, {out}, true);
    if (q.shift.defined() != q.offset.defined()) throw ModelCorrupted(path, "layer '" + q.name + "' has a shift without offset");
    // The fp32 weight the quantized layer stands for, for anything that reads weights directly.
    at::Tensor equivalent = dequantize_weight(q.weight);
    if (q.inv_smooth.defined()) equivalent = equivalent * q.inv_smooth;
    linear->second->weight.set_data(equivalent.to(linear->second->weight.scalar_type()));
    quantized.layers.push_back(std::move(q));
  }
  for (const auto& [name, tensor] : bundle.extra_tensors)
    if (name.rfind(kQuantTensorPrefix, 0) == 0) throw ModelCorrupted(path, "unexpected tensor '" + name + "'");
  for (const auto& omitted : bundle.omitted_parameters) {
    bool covered = false;
    for (const auto& l : quantized.layers) covered |= omitted == l.name + ".weight";
    if (!covered) throw ModelCorrupted(path, "tensor '" + omitted + "' is missing");
  }
  attach_quantization(bundle.model, quantized, execution);
}

std::string describe_quantization(const model::ModelBundle& bundle) {
  auto meta = bundle.extra_metadata.find(kQuantMetadata);
  if (meta == bundle.extra_metadata.end()) return "";
  auto j = nlohmann::json::parse(meta->second, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "unreadable germ.quant metadata";
  std::string method = j.value("method", "?"), bits = j.value("bits", "?");
  size_t layers = j.contains("layers") && j["layers"].is_array() ? j["layers"].size() : 0;
  return method + " " + bits + ", " + std::to_string(layers) + " linear layers quantized";
}

}  // namespace germ::quant
