#include "app/core_jobs.h"

#include "app/main_window.h"
#include "catalogue/catalogue.h"
#include "generate/generate_page.h"
#include "jobs/pipelines.h"
#include "train/train_page.h"

namespace igpg::ui {

void installCoreJobs(MainWindow& window) {
  window.trainPage()->setTrainer([](const TrainRequest& request, const JobControl& job) {
    auto catalogue = Catalogue::open(request.cataloguePath);
    if (request.kind == TrainRequest::Tokenizer) {
      TokenizerJobOptions options;
      options.zoo = request.zoo;
      options.train = request.tokenizer;
      runTokenizerTraining(*catalogue, options, job);
    } else {
      PriorJobOptions options;
      options.tokenizerRun = request.tokenizerRunId;
      options.zoo = request.zoo;
      options.train = request.prior;
      runPriorTraining(*catalogue, options, job);
    }
  });
  window.generatePage()->setGenerator([](const GenerateRequest& request, const JobControl& job) {
    auto catalogue = Catalogue::open(request.cataloguePath);
    GenerateOptions options;
    options.priorRun = request.priorRunId;
    options.architecture = request.architecture;
    options.dataset = request.dataset;
    options.samples = request.samples;
    options.sampling = request.sampling;
    options.device = request.device;
    if (request.fineTuneEpochs > 0) {
      options.fineTune = FineTuneOptions{};
      options.fineTune->epochs = request.fineTuneEpochs;
      options.fineTune->device = request.device;
    }
    options.save = true;
    runGeneration(*catalogue, options, job);
  });
  window.generatePage()->setSampleSaver(
      [](Catalogue& catalogue, int64_t sampleId) { return addSampleToZoo(catalogue, sampleId); });
}

}  // namespace igpg::ui
