// The one representation of a network: a short list of ops over named parameters.
// Every family (tinycnn, mlp, resnet, vgg, mobilenetv2) is written once as a Program;
// the same Program gives the parameter layout (PyTorch state_dict names and order), the
// parameter count, the shape check against a dataset, and the forward pass of a single
// model or of a stack of models trained at once (arch/model.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace igpg::arch {

enum class OpKind {
  Conv2d,             // square kernel, stride, padding, groups, optional bias
  BatchNorm2d,        // eps 1e-5, momentum 0.1, affine, running statistics (PyTorch defaults)
  Linear,
  Relu,
  Relu6,
  Tanh,
  Gelu,               // exact (erf) GELU, PyTorch's default
  MaxPool2d,          // kernel, stride, no padding, floor mode
  AvgPool2d,
  AdaptiveAvgPool2d,  // to outputSize x outputSize
  Flatten,            // (C, H, W) -> (C*H*W), PyTorch's torch.flatten(x, 1) order
  Copy,               // register `output` := register `input`
  Add,                // register `output` += register `input` (residual connections)
};

const char* opKindName(OpKind kind);

struct Op {
  OpKind kind = OpKind::Relu;
  std::string name;  // PyTorch module name, the parameter prefix ("layer1.0.conv1"); may be empty without parameters
  int64_t inChannels = 0;   // Conv2d, BatchNorm2d (channels), Linear (in features)
  int64_t outChannels = 0;  // Conv2d, BatchNorm2d (channels), Linear (out features)
  int64_t kernel = 1;       // Conv2d, pools
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t groups = 1;
  int64_t outputSize = 1;   // AdaptiveAvgPool2d
  bool bias = true;         // Conv2d, Linear
  int input = 0;            // register indices; 0 is the main stream "x"
  int output = 0;
  size_t firstTensor = 0;   // index of the op's first entry in Program::layout()
};

// What a layout entry is; decides its initialization and whether it is trained.
enum class TensorRole { Weight, Bias, NormWeight, NormBias, RunningMean, RunningVar, BatchesTracked };

const char* tensorRoleName(TensorRole role);

struct TensorSlot {
  std::string name;             // PyTorch state_dict key, e.g. "layer2.0.downsample.1.running_var"
  std::vector<int64_t> shape;   // shape in one model (no model dimension)
  TensorRole role = TensorRole::Weight;
  size_t op = 0;                // index into Program::ops()
  int64_t fanIn = 0;            // Weight and Bias: PyTorch's fan_in of the op's weight
  bool trainable() const { return role != TensorRole::RunningMean && role != TensorRole::RunningVar &&
                                  role != TensorRole::BatchesTracked; }
  bool integral() const { return role == TensorRole::BatchesTracked; }  // int64 in PyTorch
  int64_t numel() const;
};

// Image input of one sample.
struct InputShape {
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
};

class Program {
 public:
  const std::vector<Op>& ops() const { return ops_; }
  const std::vector<TensorSlot>& layout() const { return layout_; }
  const InputShape& input() const { return input_; }
  int64_t numClasses() const { return numClasses_; }
  int registerCount() const { return registerCount_; }
  int64_t parameterCount() const;  // trainable elements, buffers excluded
  int64_t bufferCount() const;     // running statistics and batch counters

 private:
  friend class ProgramBuilder;
  std::vector<Op> ops_;
  std::vector<TensorSlot> layout_;
  InputShape input_;
  int64_t numClasses_ = 0;
  int registerCount_ = 1;
};

// Builds a Program op by op while tracking the shape of every register, so that the
// family code states only what a paper's table states (output channels, kernel, stride)
// and in-channels, flattened sizes and misfits are derived here. An op whose output
// would be empty throws Error(Config) at `fitWhere` ("field input_size"), naming the op.
class ProgramBuilder {
 public:
  ProgramBuilder(InputShape input, std::string fitWhere);

  void conv(const std::string& name, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
            int64_t groups = 1, bool bias = true, const std::string& reg = "x");
  void batchNorm(const std::string& name, const std::string& reg = "x");
  void linear(const std::string& name, int64_t out, bool bias = true);
  void activation(OpKind kind, const std::string& reg = "x");
  void pool(OpKind kind, int64_t kernel, int64_t stride, const std::string& name = {});  // MaxPool2d, AvgPool2d
  void adaptiveAvgPool(int64_t outputSize);
  void flatten();
  void copy(const std::string& from, const std::string& to);
  void add(const std::string& from, const std::string& to);

  int64_t channels(const std::string& reg = "x") const;  // current channels (or features)
  // Checks the output is (numClasses) features and returns the finished program.
  Program finish(int64_t numClasses);

 private:
  struct Shape {
    bool image = true;
    int64_t c = 0, h = 0, w = 0;  // features in c when !image
  };
  int reg(const std::string& name, bool create);
  Shape& shape(int r);
  void push(Op op, const Shape& out);
  void spatial(const Op& op, const Shape& in, Shape& out, const char* what) const;
  void addSlot(const std::string& name, std::vector<int64_t> shape, TensorRole role, int64_t fanIn);

  Program p_;
  std::string fitWhere_;
  std::string lastNamed_ = "the input";  // for messages about unnamed ops
  std::vector<std::string> regNames_{"x"};
  std::vector<Shape> shapes_;
};

}  // namespace igpg::arch
