#include "evaluation/classifier_eval.h"

#include "common/error.h"

#include <torch/torch.h>

namespace igpg {

namespace {

// Runs `logitsOf` (a batch (n, C, H, W) on the device -> (G, n, K) logits) over the split
// and accumulates each model's metrics.
template <class F>
std::vector<ClassifierMetrics> evaluate(arch::ProgramModule& module, int64_t models, const torch::Tensor& images,
                                        const torch::Tensor& labels, const EvalOptions& options,
                                        const JobControl& job, F logitsOf) {
  const arch::Program& program = module.program();
  if (options.batchSize < 1) fail(ErrorKind::Config, "batch_size", "must be at least 1");
  arch::checkClassificationData(program, images, labels, "evaluation data");
  const bool wasTraining = module.is_training();
  const torch::Device device = options.device.value_or(module.tensors().front().device());
  module.to(device);
  module.eval();
  torch::NoGradGuard noGrad;
  const int64_t n = images.size(0), K = program.numClasses(), k = std::min<int64_t>(5, K);
  const auto counts = torch::TensorOptions().dtype(torch::kInt64).device(device);
  torch::Tensor top1 = torch::zeros({models}, counts), top5 = torch::zeros({models}, counts);
  torch::Tensor lossSum = torch::zeros({models}, counts.dtype(torch::kFloat64));
  std::vector<torch::Tensor> predicted;  // (G, nb) per batch
  ProgressReporter progress(job, "evaluate", n);
  for (int64_t begin = 0; begin < n; begin += options.batchSize) {
    job.cancel.throwIfCancelled("evaluation");
    const int64_t nb = std::min(options.batchSize, n - begin);
    const torch::Tensor x = images.narrow(0, begin, nb).to(device);
    const torch::Tensor y = labels.narrow(0, begin, nb).to(device);
    const torch::Tensor logits = logitsOf(x);  // (G, nb, K)
    const torch::Tensor target = y.unsqueeze(0).expand({models, nb});
    lossSum += torch::nn::functional::cross_entropy(
                   logits.reshape({models * nb, K}), target.reshape({models * nb}),
                   torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
                   .view({models, nb})
                   .sum(1)
                   .to(torch::kFloat64);
    const torch::Tensor best = std::get<1>(logits.topk(k, -1));  // (G, nb, k)
    const torch::Tensor hit = best.eq(target.unsqueeze(-1));
    top1 += hit.select(-1, 0).sum(1);
    top5 += hit.any(-1).sum(1);
    if (options.keepPredictions) predicted.push_back(best.select(-1, 0).cpu());
    progress.update(begin + nb);
  }
  module.train(wasTraining);
  progress.finish();
  std::vector<ClassifierMetrics> out(static_cast<size_t>(models));
  const torch::Tensor t1 = top1.cpu(), t5 = top5.cpu(), l = lossSum.cpu();
  const torch::Tensor all = predicted.empty() ? torch::Tensor() : torch::cat(predicted, 1);  // (G, N)
  for (int64_t g = 0; g < models; ++g) {
    auto& m = out[size_t(g)];
    if (all.defined()) m.predictions = all[g].contiguous();
    m.samples = n;
    m.top1 = double(t1[g].item<int64_t>()) / double(n);
    m.top5 = double(t5[g].item<int64_t>()) / double(n);
    m.loss = l[g].item<double>() / double(n);
  }
  return out;
}

}  // namespace

ClassifierMetrics evaluateClassifier(arch::Model& model, const torch::Tensor& images, const torch::Tensor& labels,
                                     const EvalOptions& options, const JobControl& job) {
  return evaluate(*model, 1, images, labels, options, job,
                  [&](const torch::Tensor& x) { return model->forward(x).unsqueeze(0); })[0];
}

std::vector<ClassifierMetrics> evaluateClassifiers(arch::ModelStack& stack, const torch::Tensor& images,
                                                   const torch::Tensor& labels, const EvalOptions& options,
                                                   const JobControl& job) {
  const int64_t G = stack->size();
  return evaluate(*stack, G, images, labels, options, job, [&](const torch::Tensor& x) {
    return stack->forward(x.unsqueeze(0).expand({G, x.size(0), x.size(1), x.size(2), x.size(3)}));
  });
}

}  // namespace igpg
