#include "arch/program.h"

#include "common/error.h"

#include <algorithm>

namespace igpg::arch {

const char* opKindName(OpKind kind) {
  switch (kind) {
    case OpKind::Conv2d: return "conv2d";
    case OpKind::BatchNorm2d: return "batchnorm2d";
    case OpKind::Linear: return "linear";
    case OpKind::Relu: return "relu";
    case OpKind::Relu6: return "relu6";
    case OpKind::Tanh: return "tanh";
    case OpKind::Gelu: return "gelu";
    case OpKind::MaxPool2d: return "maxpool2d";
    case OpKind::AvgPool2d: return "avgpool2d";
    case OpKind::AdaptiveAvgPool2d: return "adaptive_avgpool2d";
    case OpKind::Flatten: return "flatten";
    case OpKind::Copy: return "copy";
    case OpKind::Add: return "add";
  }
  return "?";
}

const char* tensorRoleName(TensorRole role) {
  switch (role) {
    case TensorRole::Weight: return "weight";
    case TensorRole::Bias: return "bias";
    case TensorRole::NormWeight: return "norm weight";
    case TensorRole::NormBias: return "norm bias";
    case TensorRole::RunningMean: return "running mean";
    case TensorRole::RunningVar: return "running var";
    case TensorRole::BatchesTracked: return "batches tracked";
  }
  return "?";
}

int64_t TensorSlot::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t Program::parameterCount() const {
  int64_t n = 0;
  for (const auto& s : layout_)
    if (s.trainable()) n += s.numel();
  return n;
}

int64_t Program::bufferCount() const {
  int64_t n = 0;
  for (const auto& s : layout_)
    if (!s.trainable()) n += s.numel();
  return n;
}

ProgramBuilder::ProgramBuilder(InputShape input, std::string fitWhere) : fitWhere_(std::move(fitWhere)) {
  if (input.channels < 1 || input.height < 1 || input.width < 1)
    fail(ErrorKind::Config, fitWhere_, "input shape must be positive");
  p_.input_ = input;
  shapes_.push_back({true, input.channels, input.height, input.width});
}

int ProgramBuilder::reg(const std::string& name, bool create) {
  auto it = std::find(regNames_.begin(), regNames_.end(), name);
  if (it != regNames_.end()) return int(it - regNames_.begin());
  if (!create) fail(ErrorKind::Internal, "program", "register '" + name + "' read before it is written");
  regNames_.push_back(name);
  shapes_.push_back({});
  return int(regNames_.size() - 1);
}

ProgramBuilder::Shape& ProgramBuilder::shape(int r) { return shapes_[size_t(r)]; }

int64_t ProgramBuilder::channels(const std::string& r) const {
  auto it = std::find(regNames_.begin(), regNames_.end(), r);
  if (it == regNames_.end()) fail(ErrorKind::Internal, "program", "no register '" + r + "'");
  return shapes_[size_t(it - regNames_.begin())].c;
}

void ProgramBuilder::spatial(const Op& op, const Shape& in, Shape& out, const char* what) const {
  const int64_t span = op.kernel - 2 * op.padding;
  auto size = [&](int64_t n) { return n < span ? int64_t(0) : (n - span) / op.stride + 1; };
  out.h = size(in.h);
  out.w = size(in.w);
  if (out.h < 1 || out.w < 1) {
    const std::string at = op.name.empty() ? std::string(what) + " after " + lastNamed_ : op.name + " (" + what + ")";
    fail(ErrorKind::Config, fitWhere_,
         at + " would shrink a " + std::to_string(in.h) + "x" + std::to_string(in.w) +
             " feature map to nothing; the " + std::to_string(p_.input_.height) + "x" +
             std::to_string(p_.input_.width) + " input is too small for this architecture");
  }
}

void ProgramBuilder::addSlot(const std::string& name, std::vector<int64_t> shape, TensorRole role, int64_t fanIn) {
  TensorSlot s;
  s.name = name;
  s.shape = std::move(shape);
  s.role = role;
  s.op = p_.ops_.size();
  s.fanIn = fanIn;
  p_.layout_.push_back(std::move(s));
}

void ProgramBuilder::push(Op op, const Shape& out) {
  shapes_[size_t(op.output)] = out;
  if (!op.name.empty()) lastNamed_ = op.name;
  p_.ops_.push_back(std::move(op));
}

void ProgramBuilder::conv(const std::string& name, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                          int64_t groups, bool bias, const std::string& r) {
  Op op;
  op.kind = OpKind::Conv2d;
  op.name = name;
  op.input = op.output = reg(r, false);
  const Shape in = shape(op.input);
  if (!in.image) fail(ErrorKind::Internal, name, "convolution after flatten");
  if (out < 1 || kernel < 1 || stride < 1 || padding < 0 || groups < 1 || in.c % groups || out % groups)
    fail(ErrorKind::Config, name, "invalid convolution (" + std::to_string(in.c) + " -> " + std::to_string(out) +
                                      " channels, groups " + std::to_string(groups) + ")");
  op.inChannels = in.c;
  op.outChannels = out;
  op.kernel = kernel;
  op.stride = stride;
  op.padding = padding;
  op.groups = groups;
  op.bias = bias;
  op.firstTensor = p_.layout_.size();
  Shape o{true, out, 0, 0};
  spatial(op, in, o, "convolution");
  const int64_t fanIn = in.c / groups * kernel * kernel;
  addSlot(name + ".weight", {out, in.c / groups, kernel, kernel}, TensorRole::Weight, fanIn);
  if (bias) addSlot(name + ".bias", {out}, TensorRole::Bias, fanIn);
  push(std::move(op), o);
}

void ProgramBuilder::batchNorm(const std::string& name, const std::string& r) {
  Op op;
  op.kind = OpKind::BatchNorm2d;
  op.name = name;
  op.input = op.output = reg(r, false);
  const Shape in = shape(op.input);
  if (!in.image) fail(ErrorKind::Internal, name, "2-D batch norm after flatten");
  op.inChannels = op.outChannels = in.c;
  op.firstTensor = p_.layout_.size();
  addSlot(name + ".weight", {in.c}, TensorRole::NormWeight, 0);
  addSlot(name + ".bias", {in.c}, TensorRole::NormBias, 0);
  addSlot(name + ".running_mean", {in.c}, TensorRole::RunningMean, 0);
  addSlot(name + ".running_var", {in.c}, TensorRole::RunningVar, 0);
  addSlot(name + ".num_batches_tracked", {}, TensorRole::BatchesTracked, 0);
  push(std::move(op), in);
}

void ProgramBuilder::linear(const std::string& name, int64_t out, bool bias) {
  Op op;
  op.kind = OpKind::Linear;
  op.name = name;
  const Shape in = shape(0);
  if (in.image) fail(ErrorKind::Internal, name, "linear layer before flatten");
  if (out < 1) fail(ErrorKind::Config, name, "a linear layer needs at least one output");
  op.inChannels = in.c;
  op.outChannels = out;
  op.bias = bias;
  op.firstTensor = p_.layout_.size();
  addSlot(name + ".weight", {out, in.c}, TensorRole::Weight, in.c);
  if (bias) addSlot(name + ".bias", {out}, TensorRole::Bias, in.c);
  push(std::move(op), Shape{false, out, 1, 1});
}

void ProgramBuilder::activation(OpKind kind, const std::string& r) {
  Op op;
  op.kind = kind;
  op.input = op.output = reg(r, false);
  const Shape s = shape(op.input);
  push(std::move(op), s);
}

void ProgramBuilder::pool(OpKind kind, int64_t kernel, int64_t stride, const std::string& name) {
  if (kind != OpKind::MaxPool2d && kind != OpKind::AvgPool2d)
    fail(ErrorKind::Internal, "program", std::string(opKindName(kind)) + " is not a pooling op");
  Op op;
  op.kind = kind;
  op.name = name;
  op.kernel = kernel;
  op.stride = stride;
  const Shape in = shape(0);
  Shape o = in;
  spatial(op, in, o, kind == OpKind::MaxPool2d ? "max pool" : "average pool");
  push(std::move(op), o);
}

void ProgramBuilder::adaptiveAvgPool(int64_t outputSize) {
  Op op;
  op.kind = OpKind::AdaptiveAvgPool2d;
  op.outputSize = outputSize;
  Shape o = shape(0);
  o.h = o.w = outputSize;
  push(std::move(op), o);
}

void ProgramBuilder::flatten() {
  Op op;
  op.kind = OpKind::Flatten;
  const Shape in = shape(0);
  push(std::move(op), Shape{false, in.c * in.h * in.w, 1, 1});
}

void ProgramBuilder::copy(const std::string& from, const std::string& to) {
  Op op;
  op.kind = OpKind::Copy;
  op.input = reg(from, false);
  op.output = reg(to, true);
  const Shape s = shape(op.input);
  push(std::move(op), s);
}

void ProgramBuilder::add(const std::string& from, const std::string& to) {
  Op op;
  op.kind = OpKind::Add;
  op.input = reg(from, false);
  op.output = reg(to, false);
  const Shape a = shape(op.input), b = shape(op.output);
  if (a.image != b.image || a.c != b.c || a.h != b.h || a.w != b.w)
    fail(ErrorKind::Internal, "program", "residual add of different shapes");
  push(std::move(op), b);
}

Program ProgramBuilder::finish(int64_t numClasses) {
  const Shape out = shape(0);
  if (out.image || out.c != numClasses)
    fail(ErrorKind::Internal, "program", "the network does not end in " + std::to_string(numClasses) + " logits");
  p_.numClasses_ = numClasses;
  p_.registerCount_ = int(regNames_.size());
  return std::move(p_);
}

}  // namespace igpg::arch
