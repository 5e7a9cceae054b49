#include "arch/model.h"

#include "arch/stacked_ops.h"
#include "common/error.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <sstream>

namespace igpg::arch {

namespace {

using torch::Tensor;

std::string shapeText(at::IntArrayRef shape) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << "]";
  return s.str();
}

std::vector<int64_t> withModels(int64_t models, const std::vector<int64_t>& shape) {
  std::vector<int64_t> s = shape;
  if (models > 0) s.insert(s.begin(), models);
  return s;
}

Tensor zeroTensor(const TensorSlot& slot, int64_t models) {
  return torch::zeros(withModels(models, slot.shape), slot.integral() ? torch::kInt64 : torch::kFloat32);
}

Tensor runProgram(const Program& p, const std::vector<Tensor>& t, const Tensor& x, bool training,
                  std::optional<double> batchNormMomentum) {
  std::vector<Tensor> regs(size_t(p.registerCount()));
  regs[0] = x;
  for (const Op& op : p.ops()) {
    const Tensor& in = regs[size_t(op.input)];
    Tensor& out = regs[size_t(op.output)];
    const size_t f = op.firstTensor;
    switch (op.kind) {
      case OpKind::Conv2d:
        out = stackedConv2d(in, t[f], op.bias ? t[f + 1] : Tensor(), op.stride, op.padding, op.groups);
        break;
      case OpKind::BatchNorm2d:
        out = stackedBatchNorm2d(in, t[f], t[f + 1], t[f + 2], t[f + 3], t[f + 4], training, batchNormMomentum);
        break;
      case OpKind::Linear: out = stackedLinear(in, t[f], op.bias ? t[f + 1] : Tensor()); break;
      case OpKind::Relu: out = at::relu(in); break;
      case OpKind::Relu6: out = at::hardtanh(in, 0, 6); break;
      case OpKind::Tanh: out = at::tanh(in); break;
      case OpKind::Gelu: out = at::gelu(in); break;
      case OpKind::MaxPool2d: out = stackedPool2d(in, PoolKind::Max, op.kernel, op.stride); break;
      case OpKind::AvgPool2d: out = stackedPool2d(in, PoolKind::Average, op.kernel, op.stride); break;
      case OpKind::AdaptiveAvgPool2d: out = stackedPool2d(in, PoolKind::AdaptiveAverage, op.outputSize, 1); break;
      case OpKind::Flatten: out = in.reshape({in.size(0), in.size(1), -1}); break;  // (G, N, C*H*W)
      case OpKind::Copy: out = in; break;
      case OpKind::Add: out = out + in; break;
    }
  }
  return regs[0];
}

// The tensor `slot` needs, from `weights`: checked, float32 or int64, on the CPU.
Tensor importedTensor(const StateDict& weights, const TensorSlot& slot) {
  const Tensor* t = weights.find(slot.name);
  if (!t) {
    if (slot.role == TensorRole::BatchesTracked) return torch::zeros({}, torch::kInt64);
    fail(ErrorKind::Mismatch, "tensor " + slot.name, "missing from the weights; the architecture needs it");
  }
  if (t->sizes() != at::IntArrayRef(slot.shape))
    fail(ErrorKind::Mismatch, "tensor " + slot.name,
         "shape " + shapeText(t->sizes()) + " but the architecture needs " + shapeText(slot.shape));
  if (slot.integral() ? !at::isIntegralType(t->scalar_type(), false) : !at::isFloatingType(t->scalar_type()))
    fail(ErrorKind::Mismatch, "tensor " + slot.name,
         std::string("has dtype ") + c10::toString(t->scalar_type()) + ", expected " +
             (slot.integral() ? "an integer type" : "a floating-point type"));
  return t->detach().to(torch::kCPU, slot.integral() ? torch::kInt64 : torch::kFloat32);
}

// Throws unless x is `dtype` (lead..., C, H, W) with the program's (C, H, W); a lead
// entry < 0 stands for any number of samples.
void checkImages(const Program& program, const Tensor& x, std::vector<int64_t> lead, torch::ScalarType dtype,
                 const std::string& where) {
  const InputShape& in = program.input();
  std::vector<int64_t> expected = std::move(lead);
  expected.insert(expected.end(), {in.channels, in.height, in.width});
  bool ok = x.defined() && x.scalar_type() == dtype && x.dim() == int64_t(expected.size());
  std::string pattern = "(";
  for (size_t i = 0; i < expected.size(); ++i) {
    pattern += (i ? ", " : "") + (expected[i] < 0 ? std::string("N") : std::to_string(expected[i]));
    ok = ok && (expected[i] < 0 ? x.size(int64_t(i)) >= 1 : x.size(int64_t(i)) == expected[i]);
  }
  if (!ok)
    fail(ErrorKind::Mismatch, where,
         std::string("expected ") + c10::toString(dtype) + " images of shape " + pattern + "), got " +
             (x.defined() ? shapeText(x.sizes()) + " " + c10::toString(x.scalar_type()) : "nothing"));
}

int64_t checkedModelCount(int64_t models) {
  if (models < 1) fail(ErrorKind::Config, "models", "a stack needs at least one model");
  return models;
}

}  // namespace

std::vector<Tensor> initialTensors(const Program& program, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  std::vector<Tensor> out;
  out.reserve(program.layout().size());
  for (const auto& slot : program.layout()) {
    Tensor t = zeroTensor(slot, 0);
    switch (slot.role) {
      case TensorRole::Weight:
      case TensorRole::Bias: {
        const double bound = 1.0 / std::sqrt(double(slot.fanIn));
        t.uniform_(-bound, bound, gen);
        break;
      }
      case TensorRole::NormWeight:
      case TensorRole::RunningVar: t.fill_(1); break;
      case TensorRole::NormBias:
      case TensorRole::RunningMean:
      case TensorRole::BatchesTracked: break;
    }
    out.push_back(std::move(t));
  }
  return out;
}

ProgramModule::ProgramModule(Program program, int64_t models) : program_(std::move(program)), models_(models) {
  for (const auto& slot : program_.layout()) {
    std::shared_ptr<torch::nn::Module> holder;
    torch::nn::Module* parent = this;
    std::string rest = slot.name;
    for (size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
      const std::string part = rest.substr(0, dot);
      auto children = parent->named_children();
      if (auto* found = children.find(part)) {
        holder = *found;
      } else {
        holder = parent->register_module(part, std::make_shared<torch::nn::Module>(part));
      }
      parent = holder.get();
    }
    Tensor t = zeroTensor(slot, models_);
    tensors_.push_back(slot.trainable() ? parent->register_parameter(rest, t) : parent->register_buffer(rest, t));
  }
}

std::vector<Tensor> ProgramModule::trainableTensors() const {
  std::vector<Tensor> out;
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (program_.layout()[i].trainable()) out.push_back(tensors_[i]);
  return out;
}

void ProgramModule::checkInput(const Tensor& x, int64_t modelDims) const {
  // The dtype of the weights: float32 unless the module was converted (e.g. to float64
  // for exact comparisons).
  checkImages(program_, x, modelDims ? std::vector<int64_t>{models_, -1} : std::vector<int64_t>{-1},
              tensors_.front().scalar_type(), "input");
}

Tensor ProgramModule::run(const Tensor& x) {
  if (models_ > 0) return runProgram(program_, tensors_, x, is_training(), batchNormMomentum_);
  std::vector<Tensor> viewed;
  viewed.reserve(tensors_.size());
  for (const auto& t : tensors_) viewed.push_back(t.unsqueeze(0));
  return runProgram(program_, viewed, x, is_training(), batchNormMomentum_);
}

StateDict ProgramModule::exportModel(int64_t model) const {
  StateDict out;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor t = model < 0 ? tensors_[i] : tensors_[i][model];
    out.add(program_.layout()[i].name, t.detach().to(torch::kCPU).clone());
  }
  return out;
}

void ProgramModule::importModel(int64_t model, const StateDict& weights) {
  for (const auto& e : weights.entries()) {
    const auto& layout = program_.layout();
    if (std::none_of(layout.begin(), layout.end(), [&](const TensorSlot& s) { return s.name == e.name; }))
      fail(ErrorKind::Mismatch, "tensor " + e.name, "is not part of this architecture");
  }
  std::vector<Tensor> checked;
  for (const auto& slot : program_.layout()) checked.push_back(importedTensor(weights, slot));
  torch::NoGradGuard noGrad;
  for (size_t i = 0; i < tensors_.size(); ++i) (model < 0 ? tensors_[i] : tensors_[i][model]).copy_(checked[i]);
}

ModelImpl::ModelImpl(Program program) : ProgramModule(std::move(program), 0) { initialize(0); }

Tensor ModelImpl::forward(const Tensor& x) {
  checkInput(x, 0);
  return run(x.unsqueeze(0)).squeeze(0);
}

void ModelImpl::initialize(uint64_t seed) {
  const auto init = initialTensors(program_, seed);
  torch::NoGradGuard noGrad;
  for (size_t i = 0; i < tensors_.size(); ++i) tensors_[i].copy_(init[i]);
}

StateDict ModelImpl::stateDict() const { return exportModel(-1); }

void ModelImpl::loadStateDict(const StateDict& weights) { importModel(-1, weights); }

ModelStackImpl::ModelStackImpl(Program program, int64_t models)
    : ProgramModule(std::move(program), checkedModelCount(models)) {
  std::vector<uint64_t> seeds;
  for (int64_t g = 0; g < models; ++g) seeds.push_back(uint64_t(g));
  initialize(seeds);
}

Tensor ModelStackImpl::forward(const Tensor& x) {
  checkInput(x, 1);
  return run(x);
}

void ModelStackImpl::initialize(const std::vector<uint64_t>& seeds) {
  if (int64_t(seeds.size()) != models_)
    fail(ErrorKind::Config, "seeds", std::to_string(seeds.size()) + " seeds for a stack of " + std::to_string(models_));
  torch::NoGradGuard noGrad;
  for (int64_t g = 0; g < models_; ++g) {
    const auto init = initialTensors(program_, seeds[size_t(g)]);
    for (size_t i = 0; i < tensors_.size(); ++i) tensors_[i][g].copy_(init[i]);
  }
}

StateDict ModelStackImpl::stateDict(int64_t model) const {
  if (model < 0 || model >= models_) fail(ErrorKind::Internal, "model " + std::to_string(model), "not in the stack");
  return exportModel(model);
}

std::vector<StateDict> ModelStackImpl::stateDicts() const {
  std::vector<StateDict> out;
  for (int64_t g = 0; g < models_; ++g) out.push_back(exportModel(g));
  return out;
}

void ModelStackImpl::loadStateDict(int64_t model, const StateDict& weights) {
  if (model < 0 || model >= models_) fail(ErrorKind::Internal, "model " + std::to_string(model), "not in the stack");
  try {
    importModel(model, weights);
  } catch (const Error& e) {
    rethrowWithContext(e, "model " + std::to_string(model));
  }
}

void checkClassificationData(const Program& program, const Tensor& images, const Tensor& labels,
                             const std::string& where) {
  checkImages(program, images, {-1}, torch::kFloat32, where);
  if (!labels.defined() || labels.dim() != 1 || labels.size(0) != images.size(0) || labels.scalar_type() != torch::kInt64)
    fail(ErrorKind::Mismatch, where, "expected " + std::to_string(images.size(0)) + " int64 labels");
  const auto range = at::aminmax(labels);
  const int64_t lo = std::get<0>(range).item<int64_t>(), hi = std::get<1>(range).item<int64_t>();
  if (lo < 0 || hi >= program.numClasses())
    fail(ErrorKind::Mismatch, where,
         "labels range over [" + std::to_string(lo) + ", " + std::to_string(hi) + "] but the network has " +
             std::to_string(program.numClasses()) + " classes");
}

ModelStack stackFromStateDicts(const Program& program, const std::vector<StateDict>& models) {
  ModelStack stack(program, int64_t(models.size()));
  for (size_t g = 0; g < models.size(); ++g) stack->loadStateDict(int64_t(g), models[g]);
  return stack;
}

}  // namespace igpg::arch
